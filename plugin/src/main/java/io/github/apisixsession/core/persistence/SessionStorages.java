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
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
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
    /** Guarded by {@code this}. */
    private final Map<Key, Open> open = new HashMap<>();
    /** Started with the first storage that can be closed when idle; guarded by {@code this}. */
    private ScheduledExecutorService sweeper;
    private boolean closed;

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

    /** How many storages are open (for tests and logs). */
    public synchronized int openCount() {
        return open.size();
    }

    /**
     * A lease on the shared storage for this config, opened on first use. The caller ties it to
     * its route with {@link Lease#releaseWhenUnreachable}, or releases it.
     */
    public Lease lease(String name, StorageConfig config) throws StorageConfigException, StorageException {
        SessionStorageProvider provider = providers.get(name);
        if (provider == null) {
            throw new StorageConfigException("storage", "unknown storage \"" + name + "\"");
        }
        Key key = new Key(name, config);
        synchronized (this) {
            if (closed) {
                throw new StorageException("the storages are closed (shutting down)");
            }
            Open existing = open.get(key);
            if (existing == null) {
                provider.validate(config);
                existing = new Open(provider.create(config, context));
                open.put(key, existing);
                LOG.info("storage {} ready ({} distinct storage configs in use)", name, open.size());
                if (!existing.storage.keepsSessionsInProcess()) {
                    startSweeper();
                }
            }
            existing.leases++;
            return new Lease(key, existing);
        }
    }

    private void startSweeper() {
        if (sweeper != null) {
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

    private synchronized void release(Open entry) {
        if (--entry.leases == 0) {
            entry.idleSince = System.nanoTime();
        }
    }

    /** Closes the storages no route has held for {@code idleClose}; runs on the sweeper. */
    void closeIdle() {
        List<Map.Entry<Key, Open>> idle = new ArrayList<>();
        int left;
        synchronized (this) {
            long now = System.nanoTime();
            for (Iterator<Map.Entry<Key, Open>> it = open.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Key, Open> e = it.next();
                Open o = e.getValue();
                if (o.leases == 0 && !o.storage.keepsSessionsInProcess() && now - o.idleSince >= idleClose.toNanos()) {
                    it.remove();
                    idle.add(e);
                }
            }
            left = open.size();
        }
        for (Map.Entry<Key, Open> e : idle) {
            closeQuietly(e.getKey(), e.getValue().storage);
        }
        if (!idle.isEmpty()) {
            LOG.info("closed {} storage(s) no route used for {} s ({} still open)", idle.size(),
                    idleClose.toSeconds(), left);
        }
    }

    private static void closeQuietly(Key key, SessionStorage storage) {
        try {
            storage.close();
        } catch (RuntimeException ex) {
            LOG.warn("closing storage {} failed: {}", key.name(), ex.toString());
        }
    }

    @Override
    public void close() {
        List<Map.Entry<Key, Open>> all;
        synchronized (this) {
            closed = true;
            if (sweeper != null) {
                sweeper.shutdownNow();
            }
            all = new ArrayList<>(open.entrySet());
            open.clear();
        }
        for (Map.Entry<Key, Open> e : all) {
            closeQuietly(e.getKey(), e.getValue().storage);
        }
    }

    /** A route's hold on a shared storage. */
    public final class Lease {
        private final Key key;
        private final Open entry;
        private final AtomicBoolean released = new AtomicBoolean();

        private Lease(Key key, Open entry) {
            this.key = key;
            this.entry = entry;
        }

        public SessionStorage storage() {
            return entry.storage;
        }

        /** Releases the lease once {@code owner} is unreachable (the action holds no reference to it). */
        public void releaseWhenUnreachable(Object owner) {
            CLEANER.register(owner, this::release);
        }

        /** Releases the lease now; a second call does nothing. */
        public void release() {
            if (released.compareAndSet(false, true)) {
                SessionStorages.this.release(entry);
            }
        }

        @Override
        public String toString() {
            return "Lease[" + key.name() + "]";
        }
    }

    private static final class Open {
        final SessionStorage storage;
        int leases;
        long idleSince;

        Open(SessionStorage storage) {
            this.storage = storage;
        }
    }

    private record Key(String name, StorageConfig config) {
    }
}
