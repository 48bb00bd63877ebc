package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.storage.CircuitOpenException;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageException;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * A route's storage, each call timed into {@link SessionMetrics#storageLatency}; calls failed fast
 * by the storage's circuit breaker are also counted by {@link SessionMetrics#storageCircuitOpen}.
 */
final class TimedStorage {

    private final SessionStorage storage;
    private final SessionMetrics metrics;

    TimedStorage(SessionStorage storage, SessionMetrics metrics) {
        this.storage = storage;
        this.metrics = metrics;
    }

    byte[] get(String key) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            byte[] value = storage.get(key).orElse(null);
            failed = false;
            return value;
        } catch (CircuitOpenException e) {
            metrics.storageCircuitOpen("get");
            throw e;
        } finally {
            metrics.storageLatency("get", System.nanoTime() - start, failed);
        }
    }

    void set(String key, byte[] value, Duration ttl, SessionStorage.Renewal renewal, SessionMetadata metadata)
            throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            storage.set(key, value, ttl, renewal, metadata);
            failed = false;
        } catch (CircuitOpenException e) {
            metrics.storageCircuitOpen("set");
            throw e;
        } finally {
            metrics.storageLatency("set", System.nanoTime() - start, failed);
        }
    }

    void delete(String key, SessionMetadata metadata) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            storage.delete(key, metadata);
            failed = false;
        } catch (CircuitOpenException e) {
            metrics.storageCircuitOpen("delete");
            throw e;
        } finally {
            metrics.storageLatency("delete", System.nanoTime() - start, failed);
        }
    }

    Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            Map<String, Instant> found = storage.sessionsOf(audience, subject);
            failed = false;
            return found;
        } catch (CircuitOpenException e) {
            metrics.storageCircuitOpen("list");
            throw e;
        } finally {
            metrics.storageLatency("list", System.nanoTime() - start, failed);
        }
    }
}
