package io.github.apisixsession.core.state;

import io.github.apisixsession.storage.StorageException;

import java.time.Duration;

/**
 * What a route checks and writes to refuse logged-out sessions and count failures: this runner's
 * own lists ({@link ProcessRevocations}), or a local copy of a store every runner shares
 * ({@link SharedStateLink}). Checks never leave the process; times are epoch seconds.
 */
public interface RevocationState {

    /** Whether every runner using the route's store sees the writes (false: this runner only). */
    boolean shared();

    /**
     * Whether the checks can be believed now: the copy was loaded, its feed is connected (or was
     * lost only moments ago) and no write is waiting to reach the store.
     */
    boolean trusted();

    /** Waits at most {@code wait} for a copy that was never loaded (a runner starting); at once otherwise. */
    default void awaitLoaded(Duration wait) {
    }

    /** Whether {@code id} (a session id or a family key) is refused. */
    boolean isRevoked(String id);

    /** Whether a session of {@code subject} in {@code audience} created at {@code creationTime} is refused. */
    boolean isMarked(String audience, String subject, long creationTime);

    /**
     * Refuses {@code id} until {@code until}, here at once and for every runner sharing the store.
     *
     * @return false when the store could not be written: the write waits in a bounded queue
     */
    boolean revoke(String id, long until);

    /** Sets a marker (see {@link RevocationMarkers#mark}); false when it waits in the queue. */
    boolean mark(String audience, String subject, long issuedBefore, long until);

    /** Adds one failure to {@code counter} (created for {@code ttlSeconds}); the count so far. */
    long increment(String counter, long ttlSeconds) throws StorageException;

    void reset(String counter) throws StorageException;
}
