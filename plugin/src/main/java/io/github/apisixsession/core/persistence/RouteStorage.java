package io.github.apisixsession.core.persistence;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * The shared storage as its routes see it: each call goes to the storage once it is ready. While
 * it is being created a call waits for that (only this storage's requests wait); when its creation
 * failed, a call fails with that reason, or starts the creation again once
 * {@link StorageEntry#RETRY_AFTER} has passed.
 */
final class RouteStorage implements SessionStorage {

    private final StorageEntry entry;

    RouteStorage(StorageEntry entry) {
        this.entry = entry;
    }

    private SessionStorage ready() throws StorageException {
        SessionStorage s = entry.readyNow();
        return s != null ? s : entry.await(null);
    }

    @Override
    public Optional<byte[]> get(String key) throws StorageException {
        return ready().get(key);
    }

    @Override
    public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
            throws StorageException {
        ready().set(key, value, ttl, renewal, metadata);
    }

    @Override
    public void delete(String key, SessionMetadata metadata) throws StorageException {
        ready().delete(key, metadata);
    }

    /** Known once the storage is ready; false before. */
    @Override
    public boolean supportsMetadata() {
        SessionStorage s = entry.readyNow();
        return s != null && s.supportsMetadata();
    }

    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        return ready().sessionsOf(audience, subject);
    }

    /** Known once the storage is ready; empty before. */
    @Override
    public Optional<SharedSessionState> sharedState() {
        SessionStorage s = entry.readyNow();
        return s != null ? s.sharedState() : Optional.empty();
    }

    @Override
    public boolean keepsSessionsInProcess() {
        SessionStorage s = entry.readyNow();
        return s != null && s.keepsSessionsInProcess();
    }

    /** The entry closes the storage (idle or shutdown), never a route. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "RouteStorage[" + entry.name() + "]";
    }
}
