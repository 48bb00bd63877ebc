package io.github.apisixsession.core.state;

import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.storage.SharedSessionState;

import java.lang.ref.Cleaner;
import java.time.Clock;
import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The shared stores this runner uses: one {@link SharedStateLink} (one copy, one feed) per store,
 * whatever number of routes use it, kept while a route holds it. One maintenance thread ticks
 * every link ({@link #TICK}): feed, reloads, queued writes; requests never wait for it.
 */
public final class SharedStores implements AutoCloseable {

    /** How often the maintenance thread looks at each store: the bound on a reload's start and a flush. */
    static final Duration TICK = Duration.ofMillis(100);

    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "apisix-session-shared-state-leases");
        t.setDaemon(true);
        return t;
    });

    private final Clock clock;
    private final SessionMetrics metrics;
    private final long capacity;
    /** Keyed by the storage object (one per storage config): guarded by {@code this}. */
    private final Map<Object, Held> links = new IdentityHashMap<>();
    private ScheduledExecutorService maintenance;
    private boolean closed;

    public SharedStores(Clock clock, SessionMetrics metrics, long capacity) {
        this.clock = clock;
        this.metrics = metrics;
        this.capacity = capacity;
    }

    /**
     * The link of the store behind {@code key}, held until {@code owner} is unreachable.
     *
     * @param source the store, once known (a storage's {@code sharedState()})
     */
    public synchronized SharedStateLink acquire(Object key, String name, Supplier<Optional<SharedSessionState>> source,
                                                Object owner) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        Held held = links.computeIfAbsent(key, k -> new Held(new SharedStateLink(name, source, clock, metrics, capacity)));
        held.count++;
        AtomicBoolean released = new AtomicBoolean();
        CLEANER.register(owner, () -> {
            if (released.compareAndSet(false, true)) {
                release(key, held);
            }
        });
        startMaintenance();
        return held.link;
    }

    /**
     * Waits at most {@code wait} for the link's copy to be loaded (a runner starting, a new store).
     *
     * @return whether it is
     */
    public boolean awaitLoaded(SharedStateLink link, Duration wait) {
        link.awaitLoaded(wait);
        return link.loaded();
    }

    private synchronized void release(Object key, Held held) {
        if (--held.count == 0 && links.get(key) == held) {
            links.remove(key);
            held.link.close();
        }
    }

    private void startMaintenance() {
        if (maintenance != null) {
            return;
        }
        maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "apisix-session-shared-state");
            t.setDaemon(true);
            return t;
        });
        maintenance.scheduleWithFixedDelay(this::tickAll, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void tickAll() {
        List<SharedStateLink> now;
        synchronized (this) {
            now = links.values().stream().map(h -> h.link).toList();
        }
        for (SharedStateLink link : now) {
            try {
                link.tick();
            } catch (RuntimeException e) {
                // a store's watch() that throws must not stop the other stores' maintenance
                org.slf4j.LoggerFactory.getLogger(SharedStores.class).warn("shared state {}: {}", link, e.toString());
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (maintenance != null) {
            maintenance.shutdownNow();
        }
        links.values().forEach(h -> h.link.close());
        links.clear();
    }

    private static final class Held {
        final SharedStateLink link;
        int count;

        Held(SharedStateLink link) {
            this.link = link;
        }
    }
}
