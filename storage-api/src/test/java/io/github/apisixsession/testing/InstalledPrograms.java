package io.github.apisixsession.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Programs a test starts, looked up on the PATH by running them with a harmless argument. */
final class InstalledPrograms {

    private InstalledPrograms() {
    }

    /**
     * Null when every command (program and argument, e.g. {@code "redis-server --version"}) exits
     * 0; otherwise which did not, and {@code hint} on how to install them.
     */
    static String missing(String hint, String... commands) {
        List<String> absent = new ArrayList<>();
        for (String command : commands) {
            if (!runs(command)) {
                absent.add(command.split(" ")[0]);
            }
        }
        return absent.isEmpty() ? null : String.join(", ", absent) + " not installed (" + hint + ")";
    }

    private static boolean runs(String command) {
        try {
            Process p = new ProcessBuilder(command.split(" ")).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
