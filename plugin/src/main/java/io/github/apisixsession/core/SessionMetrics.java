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
     * Why a request had no usable session: the first five say why the token it presented was not
     * accepted ({@link #rejected}); {@code NO_SESSION}: it presented none ({@link #refused} only).
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

    /** The session token a request presented was not accepted; at most once per request. */
    default void rejected(Rejection reason) {
    }

    /**
     * A request without a valid session was answered with {@code reject_status}, because its token
     * was not accepted ({@code reason} as given to {@link #rejected}) or it had none ({@code NO_SESSION}).
     */
    default void refused(Rejection reason) {
    }

    /**
     * A logged-out cookie-storage session was forgotten before its time because the runner's
     * revocation list was full: a copy of that cookie opens again on this runner.
     */
    default void revocationEvicted() {
    }

    /** A shared store's change feed came up ({@code +1}) or was lost ({@code -1}): a gauge of connected feeds. */
    default void sharedStateFeed(int change) {
    }

    /** A shared store's local copy was (re)loaded from its snapshot. */
    default void sharedStateResynchronized() {
    }

    /** Writes waiting for a shared store changed by {@code change}: a gauge. */
    default void sharedStateQueued(int change) {
    }

    /** A session was destroyed after {@code failure_limit} failed upstream responses. */
    default void failureLimited() {
    }

    /** How long one storage operation ({@code get}, {@code set}, {@code delete}, {@code list}) took. */
    default void storageLatency(String operation, long nanos, boolean failed) {
    }

    /** A storage operation failed at once because the storage's circuit breaker is open. */
    default void storageCircuitOpen(String operation) {
    }
}
