package io.github.apisixsession.runner;

/**
 * Which kind of call the runner is starting on this thread. The runner asks every filter for
 * {@code requiredVars()} without saying which phase it is in; {@link CapturingRpcCallHandler}
 * records it so the response half asks APISIX for {@code request_id} only.
 */
enum RunnerPhase {
    REQUEST, RESPONSE;

    private static final ThreadLocal<RunnerPhase> CURRENT = new ThreadLocal<>();

    static void enter(RunnerPhase phase) {
        if (phase == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(phase);
        }
    }

    /** The phase of the call being started, or null when unknown (the fix is not installed). */
    static RunnerPhase current() {
        return CURRENT.get();
    }
}
