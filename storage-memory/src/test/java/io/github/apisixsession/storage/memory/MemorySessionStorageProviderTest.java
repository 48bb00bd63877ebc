package io.github.apisixsession.storage.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.contract.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class MemorySessionStorageProviderTest {

    private final MutableClock clock = new MutableClock();
    private final StorageContext context = new StorageContext(clock, name -> null);
    private final MemorySessionStorageProvider provider = new MemorySessionStorageProvider();

    private static StorageConfig memory(Map<String, ?> values) {
        return StorageConfig.of("memory", values);
    }

    @Test
    void isDiscoveredByServiceLoaderAsMemory() {
        List<SessionStorageProvider> found = ServiceLoader.load(SessionStorageProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("memory"))
                .toList();
        assertEquals(1, found.size());
        assertTrue(found.get(0) instanceof MemorySessionStorageProvider);
    }

    @Test
    void defaultsToOneHundredThousandEntries() throws Exception {
        provider.validate(StorageConfig.empty("memory"));
        try (SessionStorage s = provider.create(StorageConfig.empty("memory"), context)) {
            assertEquals(100_000, ((MemorySessionStorage) s).maxEntries());
            assertTrue(s.supportsMetadata());
        }
    }

    @Test
    void maxEntriesIsConfigurable() throws Exception {
        try (SessionStorage s = provider.create(memory(Map.of("max_entries", 5)), context)) {
            assertEquals(5, ((MemorySessionStorage) s).maxEntries());
        }
    }

    @Test
    void createdStorageRunsOnTheContextClock() throws Exception {
        try (SessionStorage s = provider.create(StorageConfig.empty("memory"), context)) {
            s.set("k", new byte[] {1}, Duration.ofSeconds(5));
            assertArrayEquals(new byte[] {1}, s.get("k").orElseThrow());
            clock.advance(Duration.ofSeconds(5));
            assertTrue(s.get("k").isEmpty());
        }
    }

    @Test
    void unknownFieldIsRejectedNamingItAndTheAllowedOnes() {
        StorageConfigException e = assertThrows(StorageConfigException.class,
                () -> provider.validate(memory(Map.of("max_entry", 10))));
        assertEquals("memory.max_entry", e.field());
        assertTrue(e.getMessage().contains("max_entries"), e.getMessage());
        assertThrows(StorageConfigException.class, () -> provider.create(memory(Map.of("max_entry", 10)), context));
    }

    @Test
    void wrongTypeIsRejectedNamingTheField() {
        for (Object bad : List.of("1000", 10.5, true, List.of(1))) {
            StorageConfigException e = assertThrows(StorageConfigException.class,
                    () -> provider.validate(memory(Map.of("max_entries", bad))), () -> "accepted " + bad);
            assertEquals("memory.max_entries", e.field());
            assertTrue(e.getMessage().startsWith("memory.max_entries: "), e.getMessage());
        }
    }

    @Test
    void outOfRangeIsRejectedNamingTheField() {
        for (long bad : new long[] {0, -1, MemorySessionStorageProvider.LIMIT_MAX_ENTRIES + 1}) {
            StorageConfigException e = assertThrows(StorageConfigException.class,
                    () -> provider.validate(memory(Map.of("max_entries", bad))), () -> "accepted " + bad);
            assertEquals("memory.max_entries", e.field());
            assertTrue(e.getMessage().contains("between 1 and"), e.getMessage());
            assertThrows(StorageConfigException.class, () -> provider.create(memory(Map.of("max_entries", bad)), context));
        }
        provider.validate(memory(Map.of("max_entries", 1)));
    }
}
