package io.github.apisixsession.core;

/**
 * What the engine counts: session events and storage latency. The host decides how to expose
 * them (our runner: Prometheus text on an optional loopback port). Implementations must be cheap
 * and thread-safe: they are called on every request.
 */
public interface SessionMetrics {

    /** Counts nothing. */
    SessionMetrics NONE = new SessionMetrics() {
    };

    /**
     * Why a request had no usable session, for {@link #rejected}: one reason per request. The
     * first five say why the token it presented was not accepted; {@code NO_SESSION} is a request
     * that presented none and was refused by {@code reject_status}.
     */
    enum Rejection { INVALID, EXPIRED, REVOKED, MISSING_IN_STORAGE, OTHER_AUDIENCE, NO_SESSION }

    default void created() {
    }

    default void refreshed() {
    }

    default void touched() {
    }

    default void loggedOut() {
    }

    /** A request had no usable session (see {@link Rejection}); called at most once per request. */
    default void rejected(Rejection reason) {
    }

    /** A request without a valid session was answered with {@code reject_status}. */
    default void refused() {
    }

    /** A session was destroyed after {@code failure_limit} failed upstream responses. */
    default void failureLimited() {
    }

    /** How long one storage operation ({@code get}, {@code set}, {@code delete}, {@code list}) took. */
    default void storageLatency(String operation, long nanos, boolean failed) {
    }
}
