package io.github.apisixsession.core;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The storage providers found on the classpath, and the storages built from them: one per
 * distinct (provider, config), shared by every route that uses it and closed at shutdown, so a
 * connection pool is never created per request or per conf token.
 */
public final class SessionStorages implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SessionStorages.class);

    private final Map<String, SessionStorageProvider> providers;
    private final StorageContext context;
    private final Map<Key, SessionStorage> open = new ConcurrentHashMap<>();

    public SessionStorages(List<SessionStorageProvider> providers, StorageContext context) {
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
        this.providers = Collections.unmodifiableMap(byName);
        this.context = context;
    }

    /** The providers registered through {@code META-INF/services} on the classpath. */
    public static SessionStorages discover(StorageContext context) {
        List<SessionStorageProvider> found = ServiceLoader.load(SessionStorageProvider.class).stream()
                .map(ServiceLoader.Provider::get).toList();
        return new SessionStorages(found, context);
    }

    public Set<String> names() {
        return providers.keySet();
    }

    public StorageContext context() {
        return context;
    }

    /** The shared storage for this config, created on first use. */
    public SessionStorage obtain(String name, StorageConfig config) throws StorageConfigException, StorageException {
        SessionStorageProvider provider = providers.get(name);
        if (provider == null) {
            throw new StorageConfigException("storage", "unknown storage \"" + name + "\"");
        }
        Key key = new Key(name, config);
        SessionStorage existing = open.get(key);
        if (existing != null) {
            return existing;
        }
        provider.validate(config);
        synchronized (this) {
            existing = open.get(key);
            if (existing != null) {
                return existing;
            }
            SessionStorage created = provider.create(config, context);
            open.put(key, created);
            LOG.info("storage {} ready ({} distinct storage configs in use)", name, open.size());
            return created;
        }
    }

    @Override
    public synchronized void close() {
        for (Map.Entry<Key, SessionStorage> e : open.entrySet()) {
            try {
                e.getValue().close();
            } catch (RuntimeException ex) {
                LOG.warn("closing storage {} failed: {}", e.getKey().name(), ex.toString());
            }
        }
        open.clear();
    }

    private record Key(String name, StorageConfig config) {
    }
}
