package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The storage providers found on the classpath, and the storages built from them: one per
 * distinct (provider, config), shared by every route that uses it, so a connection pool is never
 * created per request or per conf token.
 *
 * <p>Routes come and go (conf tokens expire, routes are edited, a conf cache evicts), so each
 * route holds a {@link Lease} on its storage, released when the route becomes unreachable, that
 * is when no conf cache entry and no request in flight refers to it. A storage without leases for
 * {@code idleClose} is closed, unless it {@linkplain SessionStorage#keepsSessionsInProcess() keeps
 * its sessions in process}; the next route that needs it opens it again. Without this, every
 * config a route ever had would keep its pool, threads and connections until shutdown.
 */
public final class SessionStorages implements AutoCloseable {

    /** How long a storage no route uses stays open, by default. */
    public static final Duration DEFAULT_IDLE_CLOSE = Duration.ofSeconds(60);

    private static final Logger LOG = LoggerFactory.getLogger(SessionStorages.class);
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "apisix-session-storage-leases");
        t.setDaemon(true);
        return t;
    });

    private final Map<String, SessionStorageProvider> providers;
    private final StorageContext context;
    private final Duration idleClose;
    /**
     * One entry per distinct config. Creating its storage (a PostgreSQL pool and its migrations,
     * a Redis client) runs on a starter thread, outside any lock other configs need: one slow or
     * hanging backend delays only the routes that use it.
     */
    private final ConcurrentHashMap<Key, StorageEntry> open = new ConcurrentHashMap<>();
    private final ExecutorService starters = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "apisix-session-storage-start");
        t.setDaemon(true);
        return t;
    });
    private final Object sweeperLock = new Object();
    /** Started with the first storage that can be closed when idle; guarded by {@code sweeperLock}. */
    private ScheduledExecutorService sweeper;
    private volatile boolean closed;

    public SessionStorages(List<SessionStorageProvider> providers, StorageContext context) {
        this(providers, context, DEFAULT_IDLE_CLOSE);
    }

    public SessionStorages(List<SessionStorageProvider> providers, StorageContext context, Duration idleClose) {
        Map<String, SessionStorageProvider> byName = new LinkedHashMap<>();
        for (SessionStorageProvider p : providers) {
            if (SessionConfig.COOKIE_STORAGE.equals(p.name())) {
                LOG.warn("ignoring storage provider {}: the name \"cookie\" is built in", p.getClass().getName());
                continue;
            }
            SessionStorageProvider previous = byName.putIfAbsent(p.name(), p);
            if (previous != null) {
                LOG.warn("two storage providers are named \"{}\": {} and {}; using the first", p.name(),
                        previous.getClass().getName(), p.getClass().getName());
            }
        }
        if (idleClose.isNegative() || idleClose.isZero()) {
            throw new IllegalArgumentException("idleClose must be positive");
        }
        this.providers = Collections.unmodifiableMap(byName);
        this.context = context;
        this.idleClose = idleClose;
    }

    /** The providers registered through {@code META-INF/services} on the classpath. */
    public static SessionStorages discover(StorageContext context) {
        return discover(context, DEFAULT_IDLE_CLOSE);
    }

    public static SessionStorages discover(StorageContext context, Duration idleClose) {
        List<SessionStorageProvider> found = ServiceLoader.load(SessionStorageProvider.class).stream()
                .map(ServiceLoader.Provider::get).toList();
        return new SessionStorages(found, context, idleClose);
    }

    public Set<String> names() {
        return providers.keySet();
    }

    public StorageContext context() {
        return context;
    }

    /** How many storages are open, being opened or failed to open (for tests and logs). */
    public int openCount() {
        return open.size();
    }

    /**
     * A lease on the shared storage for this config. The config is validated now; the storage is
     * created on first use, on a thread of its own: {@link Lease#awaitStart} waits for it as long
     * as the caller can afford. The caller ties the lease to its route with
     * {@link Lease#releaseWhenUnreachable}, or releases it.
     *
     * @throws StorageConfigException when the provider refuses the config
     */
    public Lease lease(String name, StorageConfig config) throws StorageConfigException, StorageException {
        SessionStorageProvider provider = providers.get(name);
        if (provider == null) {
            throw new StorageConfigException("storage", "unknown storage \"" + name + "\"");
        }
        provider.validate(config);
        Key key = new Key(name, config);
        while (true) {
            if (closed) {
                throw new StorageException("the storages are closed (shutting down)");
            }
            StorageEntry entry = open.computeIfAbsent(key,
                    k -> new StorageEntry(name, config, provider, context, starters, () -> ready(k)));
            if (entry.lease()) {
                return new Lease(entry);
            }
            open.remove(key, entry); // closed for idleness just now: open it again
        }
    }

    /** A storage came up: log it, and sweep idle ones from now on unless it keeps sessions in process. */
    private void ready(Key key) {
        StorageEntry entry = open.get(key);
        LOG.info("storage {} ready ({} distinct storage configs in use)", key.name(), open.size());
        SessionStorage storage = entry == null ? null : entry.readyNow();
        if (storage != null && !storage.keepsSessionsInProcess()) {
            startSweeper();
        }
    }

    private void startSweeper() {
        synchronized (sweeperLock) {
            if (sweeper != null || closed) {
                return;
            }
            sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "apisix-session-storage-sweeper");
                t.setDaemon(true);
                return t;
            });
            long period = Math.max(50, Math.min(30_000, idleClose.toMillis() / 2));
            sweeper.scheduleWithFixedDelay(this::closeIdle, period, period, TimeUnit.MILLISECONDS);
        }
    }

    /** Closes the storages no route has held for {@code idleClose}; runs on the sweeper. */
    void closeIdle() {
        long now = System.nanoTime();
        int count = 0;
        for (Map.Entry<Key, StorageEntry> e : open.entrySet()) {
            if (e.getValue().closeIfIdle(now, idleClose.toNanos())) {
                open.remove(e.getKey(), e.getValue());
                count++;
            }
        }
        if (count > 0) {
            LOG.info("closed {} storage(s) no route used for {} s ({} still open)", count,
                    idleClose.toSeconds(), open.size());
        }
    }

    @Override
    public void close() {
        closed = true;
        synchronized (sweeperLock) {
            if (sweeper != null) {
                sweeper.shutdownNow();
            }
        }
        for (Map.Entry<Key, StorageEntry> e : open.entrySet()) {
            e.getValue().close();
            open.remove(e.getKey(), e.getValue());
        }
        starters.shutdown();
    }

    /** A route's hold on a shared storage. */
    public static final class Lease {
        private final StorageEntry entry;
        private final AtomicBoolean released = new AtomicBoolean();

        private Lease(StorageEntry entry) {
            this.entry = entry;
        }

        /** The storage as routes use it: calls wait for it to be ready (see {@link RouteStorage}). */
        public SessionStorage storage() {
            return entry.facade();
        }

        /**
         * Waits at most {@code wait} for the storage to start.
         *
         * @return the started storage, or null when it is still starting
         * @throws StorageException when it failed to start
         */
        public SessionStorage awaitStart(Duration wait) throws StorageException {
            return entry.await(wait);
        }

        /** Releases the lease once {@code owner} is unreachable (the action holds no reference to it). */
        public void releaseWhenUnreachable(Object owner) {
            CLEANER.register(owner, this::release);
        }

        /** Releases the lease now; a second call does nothing. */
        public void release() {
            if (released.compareAndSet(false, true)) {
                entry.release();
            }
        }

        @Override
        public String toString() {
            return "Lease[" + entry.name() + "]";
        }
    }

    private record Key(String name, StorageConfig config) {
    }
}
