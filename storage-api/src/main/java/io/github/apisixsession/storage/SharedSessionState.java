package io.github.apisixsession.storage;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What every runner using one store must agree on (issue 13): revoked cookie-stored sessions,
 * "log out everywhere" markers, and {@code failure_limit} counters.
 *
 * <p>The request path never calls this for a check: a runner keeps a local copy of the
 * revocations and markers, loaded with {@link #snapshot()} and kept current by {@link #watch}.
 * Writes ({@link #revoke}, {@link #revokeIssuedBefore}, counters) go to the store at once.
 * Implementations are thread-safe and surface every backend failure as a
 * {@link StorageException}; entries disappear by themselves once {@code until} has passed.
 */
public interface SharedSessionState {

    /** Refuses {@code id} (a session id or a family key, opaque here) until {@code until}. */
    void revoke(String id, Instant until) throws StorageException;

    /**
     * Refuses every session of {@code subject} in {@code audience} issued before
     * {@code issuedBefore}, until {@code until}; a {@code null} subject means the whole audience.
     * A later marker for the same pair replaces an earlier one only if it moves
     * {@code issuedBefore} forward (markers never move back).
     */
    void revokeIssuedBefore(String audience, String subject, Instant issuedBefore, Instant until)
            throws StorageException;

    /** Adds one to {@code counter}, created with {@code ttl} when absent; the count after it. */
    long increment(String counter, Duration ttl) throws StorageException;

    /** Removes {@code counter}; removing an absent one is not an error. */
    void reset(String counter) throws StorageException;

    /** Every revocation and marker still in force, for a full (re)load of a runner's copy. */
    Snapshot snapshot() throws StorageException;

    /**
     * Delivers the changes made by any runner (this one included) to {@code listener} until the
     * returned handle is closed. On the first connection and after every reconnection the
     * listener is told to {@link Listener#resynchronize()}, since changes may have been missed;
     * when the feed is lost it is told {@link Listener#disconnected}. Never blocks the caller.
     */
    AutoCloseable watch(Listener listener);

    /** A refused session id or family. */
    record Revocation(String id, Instant until) {
        public Revocation {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(until, "until");
        }
    }

    /** Sessions of {@code subject} (or of everyone, when null) in {@code audience} issued before a time. */
    record Marker(String audience, String subject, Instant issuedBefore, Instant until) {
        public Marker {
            Objects.requireNonNull(audience, "audience");
            Objects.requireNonNull(issuedBefore, "issuedBefore");
            Objects.requireNonNull(until, "until");
        }
    }

    record Snapshot(List<Revocation> revocations, List<Marker> markers) {
        public Snapshot {
            revocations = List.copyOf(revocations);
            markers = List.copyOf(markers);
        }
    }

    /** Receives the store's changes; called from the feed's own thread, must not block. */
    interface Listener {

        void revoked(Revocation revocation);

        void marked(Marker marker);

        /** The feed is (re)connected; changes may have been missed: reload with {@link #snapshot()}. */
        void resynchronize();

        /** The feed is lost: no change is received until the next {@link #resynchronize()}. */
        void disconnected(Throwable cause);
    }
}
