package io.github.apisixsession.storage.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage.Renewal;
import io.github.apisixsession.storage.contract.MutableClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What the contract cannot say about every storage: the bound, the index's upkeep, the clock. */
class MemorySessionStorageTest {

    private static final Duration HOUR = Duration.ofHours(1);

    private final MutableClock clock = new MutableClock();

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void staysWithinMaxEntriesUnderAFloodAndKeepsTheNewest() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(1000, clock);
        for (int i = 0; i < 10_000; i++) {
            s.set("k" + i, bytes("v" + i), HOUR);
        }
        s.cleanUp();
        assertTrue(s.size() <= 1000, "size " + s.size());
        assertTrue(s.size() >= 900, "eviction should not empty the cache, size " + s.size());
        for (int i = 9_995; i < 10_000; i++) {
            assertArrayEquals(bytes("v" + i), s.get("k" + i).orElseThrow(), "k" + i + " was just stored");
        }
    }

    @Test
    void aNewSessionIsStorableWhenFull() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(1, clock);
        s.set("a", bytes("1"), HOUR);
        s.get("a"); // make "a" look valuable to the frequency sketch
        s.set("b", bytes("2"), HOUR);
        s.cleanUp();
        assertEquals(1, s.size());
        assertArrayEquals(bytes("2"), s.get("b").orElseThrow());
        assertTrue(s.get("a").isEmpty());
    }

    @Test
    void evictionCleansTheMetadataIndex() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(10, clock);
        for (int i = 0; i < 1000; i++) {
            s.set("k" + i, bytes("v"), HOUR, null, SessionMetadata.of("aud", "user" + i));
        }
        s.cleanUp();
        assertTrue(s.indexedOwners() <= 10, "index holds " + s.indexedOwners() + " owners for " + s.size() + " entries");
        assertEquals(Set.of("k999"), s.sessionsOf("aud", "user999").keySet());
        assertEquals(Map.of(), s.sessionsOf("aud", "user0"));
    }

    @Test
    void expiryCleansTheMetadataIndex() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("a", bytes("1"), Duration.ofSeconds(1), null, SessionMetadata.of("aud", "alice"));
        s.set("b", bytes("2"), Duration.ofSeconds(1), null, SessionMetadata.of("aud", "bob"));
        assertEquals(2, s.indexedOwners());
        clock.advance(Duration.ofSeconds(2));
        s.cleanUp();
        assertEquals(0, s.size());
        assertEquals(0, s.indexedOwners());
    }

    @Test
    void deleteAndCloseCleanTheMetadataIndex() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        SessionMetadata meta = new SessionMetadata(List.of(
                new SessionMetadata.Entry("a1", "alice"), new SessionMetadata.Entry("a2", "alice")));
        s.set("a", bytes("1"), HOUR, null, meta);
        s.set("b", bytes("2"), HOUR, null, SessionMetadata.of("a1", "bob"));
        assertEquals(3, s.indexedOwners());
        s.delete("a"); // without metadata: the entry knows its owners
        assertEquals(1, s.indexedOwners());
        s.close();
        assertEquals(0, s.indexedOwners());
        assertEquals(0, s.size());
    }

    @Test
    void overwritingWithOtherMetadataMovesTheKey() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("k", bytes("1"), HOUR, null, SessionMetadata.of("aud", "alice"));
        s.set("k", bytes("2"), HOUR, null, SessionMetadata.of("aud", "bob"));
        assertEquals(Map.of(), s.sessionsOf("aud", "alice"));
        assertEquals(Set.of("k"), s.sessionsOf("aud", "bob").keySet());
        s.set("k", bytes("3"), HOUR);
        assertEquals(Map.of(), s.sessionsOf("aud", "bob"));
        assertEquals(0, s.indexedOwners());
    }

    @Test
    void overwritingWithTheSameMetadataKeepsTheKeyListed() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        SessionMetadata meta = SessionMetadata.of("aud", "alice");
        s.set("k", bytes("1"), HOUR, null, meta);
        s.set("k", bytes("2"), HOUR, null, meta);
        assertEquals(Map.of("k", clock.instant().plus(HOUR)), s.sessionsOf("aud", "alice"));
    }

    @Test
    void duplicateMetadataEntriesAreListedOnce() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("k", bytes("1"), HOUR, null, new SessionMetadata(List.of(
                new SessionMetadata.Entry("aud", "alice"), new SessionMetadata.Entry("aud", "alice"))));
        assertEquals(Set.of("k"), s.sessionsOf("aud", "alice").keySet());
        s.delete("k");
        assertEquals(0, s.indexedOwners());
    }

    @Test
    void concurrentSessionsOfOneSubjectKeepTheIndexConsistent() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100_000, clock);
        SessionMetadata meta = SessionMetadata.of("aud", "shared");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        s.set(thread + ":" + i, bytes("v"), HOUR, null, meta);
                        s.sessionsOf("aud", "shared");
                        if (i % 2 == 0) {
                            s.delete(thread + ":" + i);
                        }
                    }
                    return null; // a Callable, so the checked StorageException may pass
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(8 * 250, s.sessionsOf("aud", "shared").size());
        for (int t = 0; t < 8; t++) {
            for (int i = 1; i < 500; i += 2) {
                s.delete(t + ":" + i);
            }
        }
        assertEquals(0, s.indexedOwners());
    }

    @Test
    void renewalOntoTheSameKeyDoesNotShortenIt() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("k", bytes("1"), HOUR, "k", Duration.ofSeconds(1));
        clock.advance(Duration.ofMinutes(1));
        assertArrayEquals(bytes("1"), s.get("k").orElseThrow());
    }

    @Test
    void zeroStaleTtlEndsTheOldEntryAtOnce() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("old", bytes("1"), HOUR);
        s.set("new", bytes("2"), HOUR, new Renewal("old", Duration.ZERO), null);
        assertTrue(s.get("old").isEmpty());
        assertArrayEquals(bytes("2"), s.get("new").orElseThrow());
    }

    @Test
    void expiryIsExactOnTheContextClock() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("k", bytes("1"), Duration.ofSeconds(10));
        clock.advance(Duration.ofSeconds(10).minusNanos(1));
        assertTrue(s.get("k").isPresent(), "alive until its ttl");
        clock.advance(Duration.ofNanos(1));
        assertTrue(s.get("k").isEmpty(), "gone at its ttl");
    }

    @Test
    void readingDoesNotExtendTheTtl() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("k", bytes("1"), Duration.ofSeconds(10));
        clock.advance(Duration.ofSeconds(9));
        assertTrue(s.get("k").isPresent());
        clock.advance(Duration.ofSeconds(1));
        assertTrue(s.get("k").isEmpty());
    }

    @Test
    void hugeTtlsAreClampedNotOverflowed() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        s.set("k", bytes("1"), Duration.ofSeconds(Long.MAX_VALUE));
        s.set("new", bytes("2"), HOUR, "k", Duration.ofSeconds(Long.MAX_VALUE));
        clock.advance(Duration.ofDays(365L * 50));
        assertArrayEquals(bytes("1"), s.get("k").orElseThrow());
    }

    @Test
    void rejectsBadArguments() throws Exception {
        MemorySessionStorage s = new MemorySessionStorage(100, clock);
        assertThrows(IllegalArgumentException.class, () -> s.set("k", bytes("1"), Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> s.set("k", bytes("1"), Duration.ofSeconds(-1)));
        assertThrows(NullPointerException.class, () -> s.set("k", null, HOUR));
        assertThrows(NullPointerException.class, () -> s.get(null));
        assertThrows(IllegalArgumentException.class, () -> new MemorySessionStorage(0, clock));
        assertTrue(s.get("k").isEmpty());
    }
}
