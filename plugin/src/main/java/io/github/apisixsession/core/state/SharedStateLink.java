package io.github.apisixsession.core.state;

import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * One shared store as this runner uses it, for every route on that store: the local copy its
 * requests check ({@link SharedRevocations}), the one change feed that keeps it current, and the
 * writes that wait while the store is down ({@link PendingWrites}).
 *
 * <p>The store is found through {@code source} (the storage's {@code sharedState()}, known once
 * the storage has started; a storage started again gives another one, which is watched instead).
 * {@link #tick} runs on the maintenance thread of {@link SharedStores}: it opens the feed, reloads
 * the copy from a snapshot whenever the feed asks (first connection, every reconnection) and
 * flushes the queued writes. The feed's callbacks only update the copy and flags: they never block.
 */
public final class SharedStateLink implements RevocationState, SharedSessionState.Listener {

    private static final Logger LOG = LoggerFactory.getLogger(SharedStateLink.class);

    /** How long a lost feed is believed: changes made meanwhile may be missed for at most that long. */
    public static final Duration DISCONNECT_GRACE = Duration.ofSeconds(2);
    static final int QUEUE_CAPACITY = 100_000;

    private final String name;
    private final Supplier<Optional<SharedSessionState>> source;
    private final Clock clock;
    private final SessionMetrics metrics;
    private final SharedRevocations copy;
    private final PendingWrites pending;
    private final FailureCounts localFailures;

    private SharedSessionState watched;
    private AutoCloseable feed;
    private volatile boolean loaded;
    private volatile boolean resyncWanted;
    /**
     * Guards the feed's state changes: a disconnect reported while a reload is under way must not
     * be undone by that reload's end (the feed reports a loss once, so it would never come again).
     */
    private final Object feedLock = new Object();
    /** Bumped by every resynchronize and disconnected; guarded by feedLock. */
    private long feedEvents;
    private volatile boolean connected;
    private volatile long disconnectedAtMillis;
    /** Whether an outage was logged and its recovery is still to be logged. */
    private volatile boolean down;

    SharedStateLink(String name, Supplier<Optional<SharedSessionState>> source, Clock clock, SessionMetrics metrics,
                    long capacity) {
        this.name = name;
        this.source = source;
        this.clock = clock;
        this.metrics = metrics;
        this.copy = new SharedRevocations(clock, capacity, metrics::revocationEvicted);
        this.pending = new PendingWrites(QUEUE_CAPACITY, () -> LOG.warn("shared state {}: write queue full, "
                + "the oldest queued revocation is dropped (it still holds on this runner)", name));
        this.localFailures = new FailureCounts(clock, 100_000);
        this.disconnectedAtMillis = clock.millis();
    }

    // ------------------------------------------------------------------ checks (request path)

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public boolean trusted() {
        return loaded && pending.isEmpty()
                && (connected || clock.millis() - disconnectedAtMillis < DISCONNECT_GRACE.toMillis());
    }

    /**
     * Waits at most {@code wait} for the first copy (a runner starting, a new store). Never ticks
     * itself: a request must not wait for the store or for the maintenance thread's lock (held
     * while it flushes queued writes to a store that may be down); that thread loads the copy
     * within {@link SharedStores#TICK} of the feed's subscription.
     */
    @Override
    public void awaitLoaded(Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!loaded && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Whether the copy was loaded from the store at least once. */
    public boolean loaded() {
        return loaded;
    }

    public boolean connected() {
        return connected;
    }

    /** Writes waiting for the store. */
    public int queued() {
        return pending.size();
    }

    @Override
    public boolean isRevoked(String id) {
        return copy.isRevoked(id);
    }

    @Override
    public boolean isMarked(String audience, String subject, long creationTime) {
        return copy.isMarked(audience, subject, creationTime);
    }

    // ------------------------------------------------------------------ writes

    @Override
    public boolean revoke(String id, long until) {
        copy.apply(new SharedSessionState.Revocation(id, java.time.Instant.ofEpochSecond(until)));
        return write(new PendingWrites.Revoke(id, until));
    }

    @Override
    public boolean mark(String audience, String subject, long issuedBefore, long until) {
        copy.apply(new SharedSessionState.Marker(audience, subject, java.time.Instant.ofEpochSecond(issuedBefore),
                java.time.Instant.ofEpochSecond(until)));
        return write(new PendingWrites.Mark(audience, subject, issuedBefore, until));
    }

    private boolean write(PendingWrites.Write w) {
        Optional<SharedSessionState> store = source.get();
        if (store.isPresent() && pending.isEmpty()) {
            try {
                w.applyTo(store.get());
                return true;
            } catch (StorageException e) {
                outage("write", e);
            }
        }
        int before = pending.size();
        pending.add(w);
        metrics.sharedStateQueued(pending.size() - before);
        return false;
    }

    /**
     * Counts in the store; while it fails, in this runner only (a limit then needs more failures
     * in all, never fewer).
     */
    @Override
    public long increment(String counter, long ttlSeconds) {
        Optional<SharedSessionState> store = source.get();
        if (store.isPresent()) {
            try {
                return store.get().increment(counter, Duration.ofSeconds(Math.max(1, ttlSeconds)));
            } catch (StorageException e) {
                outage("count", e);
            }
        }
        return localFailures.increment(counter, ttlSeconds);
    }

    @Override
    public void reset(String counter) throws StorageException {
        localFailures.reset(counter);
        Optional<SharedSessionState> store = source.get();
        if (store.isPresent()) {
            store.get().reset(counter);
        }
    }

    // ------------------------------------------------------------------ feed

    @Override
    public void revoked(SharedSessionState.Revocation revocation) {
        copy.apply(revocation);
    }

    @Override
    public void marked(SharedSessionState.Marker marker) {
        copy.apply(marker);
    }

    @Override
    public void resynchronize() {
        synchronized (feedLock) {
            feedEvents++;
        }
        resyncWanted = true;
    }

    @Override
    public void disconnected(Throwable cause) {
        synchronized (feedLock) {
            feedEvents++;
            markDisconnected();
        }
        outage("watch", cause);
    }

    /** Guarded by feedLock. */
    private void markDisconnected() {
        if (connected) {
            connected = false;
            disconnectedAtMillis = clock.millis();
            metrics.sharedStateFeed(-1);
        }
    }

    /** Opens the feed, reloads the copy when asked, flushes queued writes; on the maintenance thread. */
    synchronized void tick() {
        Optional<SharedSessionState> store = source.get();
        if (store.isEmpty()) {
            return;
        }
        SharedSessionState s = store.get();
        if (s != watched) {
            closeFeed();
            watched = s;
            feed = s.watch(this);
        }
        try {
            if (resyncWanted) {
                long seen;
                synchronized (feedLock) {
                    seen = feedEvents;
                }
                resyncWanted = false;
                try {
                    copy.load(s.snapshot());
                } catch (StorageException | RuntimeException e) {
                    resyncWanted = true;
                    throw e;
                }
                loaded = true;
                metrics.sharedStateResynchronized();
                synchronized (feedLock) {
                    // the feed lost or resubscribed meanwhile: not current (a resubscription reloads again)
                    if (feedEvents == seen && !connected) {
                        connected = true;
                        metrics.sharedStateFeed(1);
                    }
                }
            }
            if (!pending.isEmpty()) {
                int before = pending.size();
                try {
                    pending.flush(s);
                } finally {
                    metrics.sharedStateQueued(pending.size() - before);
                }
            }
            if (down && connected) {
                down = false;
                LOG.info("shared state {}: store reachable again, copy reloaded, queued writes flushed", name);
            }
        } catch (StorageException | RuntimeException e) {
            outage("resynchronize", e);
        }
    }

    /** Logs the first failure of an outage only; {@link #tick} logs the recovery. */
    private void outage(String operation, Throwable cause) {
        if (!down) {
            down = true;
            LOG.warn("shared state {}: {} failed ({}); checks use the last copy, writes are queued", name, operation,
                    cause == null ? "feed lost" : cause.getMessage());
        }
    }

    private void closeFeed() {
        if (feed != null) {
            try {
                feed.close();
            } catch (Exception e) {
                LOG.debug("shared state {}: closing the feed failed: {}", name, e.toString());
            }
            feed = null;
        }
        synchronized (feedLock) {
            markDisconnected();
        }
        loaded = false;
    }

    synchronized void close() {
        closeFeed();
        watched = null;
    }

    @Override
    public String toString() {
        return "SharedStateLink[" + name + "]";
    }
}
