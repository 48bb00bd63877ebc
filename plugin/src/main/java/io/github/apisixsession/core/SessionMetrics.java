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

    /** Why a request carried no usable session, for {@link #rejected}. */
    enum Rejection { INVALID, EXPIRED, REVOKED, MISSING_IN_STORAGE, OTHER_AUDIENCE, REFUSED }

    default void created() {
    }

    default void refreshed() {
    }

    default void touched() {
    }

    default void loggedOut() {
    }

    /** A session cookie or token was present but not accepted; or {@code REFUSED}: reject_status. */
    default void rejected(Rejection reason) {
    }

    /** A session was destroyed after {@code failure_limit} failed upstream responses. */
    default void failureLimited() {
    }

    /** How long one storage operation ({@code get}, {@code set}, {@code delete}, {@code list}) took. */
    default void storageLatency(String operation, long nanos, boolean failed) {
    }
}
