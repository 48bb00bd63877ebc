package io.github.apisixsession.testing;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Copies what is written to {@code System.err} (where slf4j-simple logs) while open, so a test can
 * wait for a log line, an event the code under test reports, instead of sleeping. Still prints to
 * the real stderr.
 */
public final class CapturedStderr implements AutoCloseable {

    private final PrintStream saved = System.err;
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();

    public CapturedStderr() {
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (copy) {
                    copy.write(b);
                }
                saved.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (copy) {
                    copy.write(b, off, len);
                }
                saved.write(b, off, len);
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    public String text() {
        synchronized (copy) {
            return copy.toString(StandardCharsets.UTF_8);
        }
    }

    /** Waits until {@code line} was written {@code times} times; false after {@code timeout}. */
    public boolean await(String line, int times, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (count(line) < times) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    private int count(String line) {
        String all = text();
        int n = 0;
        for (int i = all.indexOf(line); i >= 0; i = all.indexOf(line, i + line.length())) {
            n++;
        }
        return n;
    }

    @Override
    public void close() {
        System.setErr(saved);
    }
}
