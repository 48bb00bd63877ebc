package io.github.apisixsession.core.persistence;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One storage config's storage, through its life: being created (on a thread of its own, so no
 * caller waits longer than it chooses), ready, failed (created again on demand, at most once per
 * {@link #RETRY_AFTER}), or closed. Counts the routes that hold it. All state is guarded by
 * {@code this}; no I/O runs under that lock.
 */
final class StorageEntry {

    /** A failed creation is not tried again before this, however many requests ask. */
    static final Duration RETRY_AFTER = Duration.ofSeconds(1);

    private static final Logger LOG = LoggerFactory.getLogger(SessionStorages.class);

    private enum State { NEW, CREATING, READY, FAILED, CLOSED }

    private final String name;
    private final StorageConfig config;
    private final SessionStorageProvider provider;
    private final StorageContext context;
    private final Executor starter;
    private final Runnable onReady;
    private final RouteStorage facade;
    private State state = State.NEW;
    private SessionStorage storage;
    private StorageException failure;
    private long failedAt;
    private int leases;
    private long idleSince = System.nanoTime();

    StorageEntry(String name, StorageConfig config, SessionStorageProvider provider, StorageContext context,
                 Executor starter, Runnable onReady) {
        this.name = name;
        this.config = config;
        this.provider = provider;
        this.context = context;
        this.starter = starter;
        this.onReady = onReady;
        this.facade = new RouteStorage(this);
    }

    String name() {
        return name;
    }

    /** What routes call: the storage once ready, created on demand. */
    SessionStorage facade() {
        return facade;
    }

    // ---------------------------------------------------------------- leases

    /** Takes a lease and starts the creation if nobody did; false once closed. */
    synchronized boolean lease() {
        if (state == State.CLOSED) {
            return false;
        }
        leases++;
        if (state == State.NEW) {
            startCreation();
        }
        return true;
    }

    synchronized void release() {
        if (--leases == 0) {
            idleSince = System.nanoTime();
        }
    }

    // ---------------------------------------------------------------- the storage

    /**
     * The storage, waiting up to {@code wait} for it to start. {@code null} is the request path:
     * wait as long as a creation in progress takes (its provider's own timeouts bound it), but
     * fail at once while a recent failure is not to be retried yet. With a bound (PrepareConf), a
     * recent failure is retried as soon as {@link #RETRY_AFTER} allows within the bound.
     *
     * @return the storage, or null when it has not started within {@code wait}
     * @throws StorageException when it failed to start (and is not being retried) or was closed
     */
    synchronized SessionStorage await(Duration wait) throws StorageException {
        long deadline = wait == null ? Long.MAX_VALUE : System.nanoTime() + wait.toNanos();
        while (true) {
            long now = System.nanoTime();
            switch (state) {
                case READY:
                    return storage;
                case CLOSED:
                    throw new StorageException("the " + name + " storage is closed");
                case FAILED:
                    long retryAt = failedAt + RETRY_AFTER.toNanos();
                    if (now - retryAt >= 0) {
                        startCreation();
                        continue;
                    }
                    if (wait == null || deadline - retryAt < 0) {
                        throw failure;
                    }
                    waitUntil(retryAt);
                    continue;
                default: // NEW or CREATING
                    if (deadline - now <= 0) {
                        return null;
                    }
                    waitUntil(deadline);
            }
        }
    }

    /** Waits on this entry's monitor until notified or {@code deadline} (nanoTime), at most 1 s at a time. */
    private void waitUntil(long deadline) throws StorageException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            return;
        }
        try {
            TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.SECONDS.toNanos(1)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while the " + name + " storage was starting", e);
        }
    }

    /** The storage if it is ready now, else null. */
    synchronized SessionStorage readyNow() {
        return state == State.READY ? storage : null;
    }

    private void startCreation() {
        state = State.CREATING;
        starter.execute(this::create);
    }

    /** Runs on a starter thread. */
    private void create() {
        SessionStorage created = null;
        StorageException failed = null;
        try {
            created = provider.create(config, context);
        } catch (StorageException e) {
            failed = e;
        } catch (RuntimeException | Error e) {
            failed = new StorageException("the " + name + " storage failed to start: " + e, e);
        }
        boolean closeIt = false;
        synchronized (this) {
            if (state == State.CLOSED) {
                closeIt = created != null; // shut down or swept while it was being created
            } else if (failed != null) {
                state = State.FAILED;
                failure = failed;
                failedAt = System.nanoTime();
            } else {
                state = State.READY;
                storage = created;
            }
            notifyAll();
        }
        if (closeIt) {
            closeQuietly(created);
        } else if (created != null) {
            onReady.run();
        } else {
            LOG.warn("storage {} failed to start: {}", name, failed.getMessage());
        }
    }

    // ---------------------------------------------------------------- closing

    /**
     * Closes it when no route held it for {@code idle} and it can be closed (not being created,
     * not a storage that keeps its sessions in process); returns whether it did.
     */
    boolean closeIfIdle(long now, long idle) {
        SessionStorage toClose;
        synchronized (this) {
            boolean inProcess = state == State.READY && storage.keepsSessionsInProcess();
            if (state == State.CLOSED || state == State.CREATING || inProcess || leases > 0 || now - idleSince < idle) {
                return false;
            }
            toClose = state == State.READY ? storage : null;
            state = State.CLOSED;
            notifyAll();
        }
        if (toClose != null) {
            closeQuietly(toClose);
        }
        return true;
    }

    /** Closes it now (shutdown); a creation in progress closes what it creates. */
    void close() {
        SessionStorage toClose;
        synchronized (this) {
            toClose = state == State.READY ? storage : null;
            state = State.CLOSED;
            notifyAll();
        }
        if (toClose != null) {
            closeQuietly(toClose);
        }
    }

    private void closeQuietly(SessionStorage s) {
        try {
            s.close();
        } catch (RuntimeException ex) {
            LOG.warn("closing storage {} failed: {}", name, ex.toString());
        }
    }
}
