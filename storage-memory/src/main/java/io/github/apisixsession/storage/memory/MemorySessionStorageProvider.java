package io.github.apisixsession.storage.memory;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import java.util.Set;

/**
 * {@code "storage": "memory"}: sessions in the runner's heap. They are lost on restart and not
 * shared between runner processes, so this suits one node, development and tests.
 *
 * <p>Config (the route's {@code memory} object): {@code max_entries}, the most sessions kept
 * (default 100000); beyond it the least valuable ones are evicted.
 */
public final class MemorySessionStorageProvider implements SessionStorageProvider {

    public static final String NAME = "memory";
    public static final String MAX_ENTRIES = "max_entries";
    public static final long DEFAULT_MAX_ENTRIES = 100_000;
    /** Caffeine sizes its frequency sketch to the bound; this keeps a typo from costing gigabytes. */
    public static final long LIMIT_MAX_ENTRIES = 10_000_000;

    private static final Set<String> KNOWN = Set.of(MAX_ENTRIES);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(StorageConfig config) throws StorageConfigException {
        maxEntries(config);
    }

    @Override
    public SessionStorage create(StorageConfig config, StorageContext context) throws StorageConfigException {
        return new MemorySessionStorage(maxEntries(config), context.clock());
    }

    private static long maxEntries(StorageConfig config) {
        config.requireOnly(KNOWN);
        return config.getLong(MAX_ENTRIES, DEFAULT_MAX_ENTRIES, 1, LIMIT_MAX_ENTRIES);
    }
}
