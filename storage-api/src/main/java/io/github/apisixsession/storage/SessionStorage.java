package io.github.apisixsession.storage;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Opaque bytes under a key, with a time to live: the storage interface of lua-resty-session 4,
 * minus everything that knows about cookies or HTTP.
 *
 * <p>Keys are composed by the engine ({@code <cookie name>:<session key>}); a storage may add its
 * own prefix. Implementations must be thread-safe: one instance serves every route and connection
 * that uses the same storage config. Every failure of the backend surfaces as a
 * {@link StorageException}, never as another runtime exception.
 */
public interface SessionStorage extends AutoCloseable {

    /** The value stored under {@code key}, or empty when there is none or it has expired. */
    Optional<byte[]> get(String key) throws StorageException;

    /**
     * Stores {@code value} under {@code key} for {@code ttl}, in one step.
     *
     * @param renewal  when not null, the entry this one replaces: its remaining TTL is shortened
     *                 to {@link Renewal#staleTtl()} if it is longer, so that concurrent requests
     *                 still carrying the previous cookie keep working for a moment
     * @param metadata when not null and {@link #supportsMetadata()}, the audiences and subjects
     *                 of the session, recorded so that all sessions of a subject can be listed
     */
    void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
            throws StorageException;

    /** {@code set(key, value, ttl)} of lua-resty-session: a new entry. */
    default void set(String key, byte[] value, Duration ttl) throws StorageException {
        set(key, value, ttl, (Renewal) null, null);
    }

    /** Renewal: writes the new entry and leaves the old one readable for {@code staleTtl}. */
    default void set(String key, byte[] value, Duration ttl, String oldKey, Duration staleTtl)
            throws StorageException {
        set(key, value, ttl, new Renewal(oldKey, staleTtl), null);
    }

    /** Removes the entry (logout); removing an absent key is not an error. */
    void delete(String key, SessionMetadata metadata) throws StorageException;

    default void delete(String key) throws StorageException {
        delete(key, null);
    }

    /** Whether this storage records {@link SessionMetadata} and can answer {@link #sessionsOf}. */
    default boolean supportsMetadata() {
        return false;
    }

    /**
     * Every live session key of {@code subject} in {@code audience}, with its expiry.
     *
     * @throws UnsupportedOperationException when {@link #supportsMetadata()} is false
     */
    default Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        throw new UnsupportedOperationException("this storage keeps no session metadata");
    }

    /**
     * The state this storage's backend can share between runners (revocations, log-out-everywhere
     * markers, failure counters: issue 13), or empty when it cannot (cookie, memory).
     */
    default Optional<SharedSessionState> sharedState() {
        return Optional.empty();
    }

    /**
     * Whether the sessions live in this object, so that closing it loses them (the memory storage).
     * The host closes a storage that no route has used for a while, to bound the pools and threads
     * of configs that routes stopped using, but never one that keeps its sessions in process.
     */
    default boolean keepsSessionsInProcess() {
        return false;
    }

    /**
     * Releases connections and threads; called once: at shutdown, or when no route has used this
     * storage for a while (then only if {@link #keepsSessionsInProcess()} is false).
     */
    @Override
    default void close() {
    }

    /** The entry a renewal replaces and how long it stays readable. */
    record Renewal(String oldKey, Duration staleTtl) {
        public Renewal {
            if (oldKey == null || oldKey.isEmpty()) {
                throw new IllegalArgumentException("oldKey is required");
            }
            if (staleTtl == null || staleTtl.isNegative()) {
                throw new IllegalArgumentException("staleTtl must be zero or positive");
            }
        }
    }
}
