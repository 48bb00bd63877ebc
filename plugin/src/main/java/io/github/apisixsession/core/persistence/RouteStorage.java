package io.github.apisixsession.core.persistence;

import io.github.apisixsession.storage.OutageLog;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared storage as its routes see it: each call goes to the storage once it is ready. While
 * it is being created a call waits for that (only this storage's requests wait); when its creation
 * failed, a call fails with that reason, or starts the creation again once
 * {@link StorageEntry#RETRY_AFTER} has passed.
 *
 * <p>Failed calls are logged here, for every route of the storage, through an {@link OutageLog}:
 * a few lines per outage however many requests fail (the lifecycle only logs them at debug).
 */
final class RouteStorage implements SessionStorage {

    private static final Logger LOG = LoggerFactory.getLogger(RouteStorage.class);

    private final StorageEntry entry;
    private final OutageLog outage;

    RouteStorage(StorageEntry entry) {
        this.entry = entry;
        this.outage = new OutageLog("session storage " + entry.name(), Clock.systemUTC(), OutageLog.DEFAULT_INTERVAL,
                OutageLog.Sink.of(LOG::warn, LOG::info));
    }

    /** The exception, logged; its message carries no secrets or keys ({@link StorageException}). */
    private StorageException failed(StorageException e) {
        outage.failure(String.valueOf(e.getMessage()));
        return e;
    }

    private SessionStorage ready() throws StorageException {
        SessionStorage s = entry.readyNow();
        return s != null ? s : entry.await(null);
    }

    @Override
    public Optional<byte[]> get(String key) throws StorageException {
        try {
            Optional<byte[]> value = ready().get(key);
            outage.success();
            return value;
        } catch (StorageException e) {
            throw failed(e);
        }
    }

    @Override
    public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
            throws StorageException {
        try {
            ready().set(key, value, ttl, renewal, metadata);
            outage.success();
        } catch (StorageException e) {
            throw failed(e);
        }
    }

    @Override
    public void delete(String key, SessionMetadata metadata) throws StorageException {
        try {
            ready().delete(key, metadata);
            outage.success();
        } catch (StorageException e) {
            throw failed(e);
        }
    }

    /** Known once the storage is ready; false before. */
    @Override
    public boolean supportsMetadata() {
        SessionStorage s = entry.readyNow();
        return s != null && s.supportsMetadata();
    }

    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        try {
            Map<String, Instant> found = ready().sessionsOf(audience, subject);
            outage.success();
            return found;
        } catch (StorageException e) {
            throw failed(e);
        }
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
