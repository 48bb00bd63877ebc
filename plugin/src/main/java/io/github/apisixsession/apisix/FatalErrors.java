package io.github.apisixsession.apisix;

import org.slf4j.LoggerFactory;

/**
 * What the runner does when the JVM fails under it (out of memory, an internal error): log one
 * line and end the process at once, without shutdown hooks, which could fail the same way or hang.
 * APISIX starts a new runner when its {@code ext-plugin.cmd} runner exits; a service manager does
 * for a runner started by hand ({@code path_for_test}).
 */
final class FatalErrors {

    /** The exit status, EX_SOFTWARE of sysexits.h. */
    static final int EXIT_STATUS = 70;

    private FatalErrors() {
    }

    static void exit(VirtualMachineError error) {
        try {
            LoggerFactory.getLogger(FatalErrors.class).error("the JVM failed ({}: {}); exiting with status {} "
                    + "so that a fresh runner is started", error.getClass().getName(), error.getMessage(), EXIT_STATUS);
        } finally {
            Runtime.getRuntime().halt(EXIT_STATUS);
        }
    }
}
