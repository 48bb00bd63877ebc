package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The cache's rules without a server: what is served, what is kept, what a race or a lost
 * connection throws away. The feed is played by {@link #ticket} (the generation, or -1) and time
 * by {@link #now}; the server by {@link Server}, which counts the reads that reach it.
 */
class ClientSideCacheTest {

    private static final RedisSettings.ClientCache SETTINGS = new RedisSettings.ClientCache(true, 1000, 1 << 20, 500);

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final AtomicLong ticket = new AtomicLong(1);
    private final ClientSideCache cache = new ClientSideCache(SETTINGS, t -> ticket.get(), now::get);

    /** A key's value and PTTL at the "server"; {@code during} runs while a read is in flight. */
    private static final class Server implements ClientSideCache.Reads {
        byte[] value;
        long pttl;
        Runnable during = () -> { };
        final AtomicInteger reads = new AtomicInteger();

        Server(String value, long pttl) {
            this.value = value == null ? null : bytes(value);
            this.pttl = pttl;
        }

        @Override
        public byte[] value() {
            reads.incrementAndGet();
            return value;
        }

        @Override
        public ClientSideCache.Read valueAndTtl() {
            reads.incrementAndGet();
            byte[] v = value;
            during.run();
            return new ClientSideCache.Read(v, v == null ? -2 : pttl);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private String read(String key, Server server) throws StorageException {
        return cache.get(key, server).map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
    }

    private void advanceMillis(long ms) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    @Test
    void aSecondReadIsServedLocally() throws Exception {
        Server s = new Server("v", 60_000);
        assertEquals("v", read("k", s));
        assertEquals("v", read("k", s));
        assertEquals("v", read("k", s));
        assertEquals(1, s.reads.get(), "one read reached the server");
        ClientCacheStatistics st = cache.statistics(true);
        assertEquals(2, st.hits());
        assertEquals(1, st.misses());
        assertEquals(1, st.entries());
    }

    @Test
    void anEntryLivesNoLongerThanThePttlReadWithIt() throws Exception {
        Server s = new Server("v", 300);
        read("k", s);
        advanceMillis(299);
        read("k", s);
        assertEquals(1, s.reads.get(), "served locally before its TTL runs out");
        advanceMillis(1);
        read("k", s);
        assertEquals(2, s.reads.get(), "read again once the server's TTL has run out");
    }

    @Test
    void theTtlCountsFromBeforeTheReadWasSent() throws Exception {
        Server s = new Server("v", 300);
        s.during = () -> advanceMillis(100); // the reply took 100 ms
        read("k", s);
        s.during = () -> { };
        advanceMillis(200);
        read("k", s);
        assertEquals(2, s.reads.get(), "300 ms after sending, the key may be gone at the server");
    }

    @Test
    void whileTheFeedCannotVouchNothingIsServedOrKept() throws Exception {
        Server s = new Server("v", 60_000);
        read("k", s);
        ticket.set(-1);
        read("k", s);
        read("k", s);
        assertEquals(3, s.reads.get(), "every read goes to the server");
        assertEquals(2, cache.statistics(false).bypassed());
        ticket.set(1);
        read("k", s);
        assertEquals(3, s.reads.get(), "the entry of the same generation serves again once the feed vouches");
    }

    @Test
    void anEntryFromAnEarlierGenerationIsNeverServed() throws Exception {
        Server s = new Server("v", 60_000);
        read("k", s);
        ticket.set(3); // tracking was lost and is back: nothing heard in between
        s.value = bytes("w");
        assertEquals("w", read("k", s));
        assertEquals("w", read("k", s));
        assertEquals(2, s.reads.get());
    }

    @Test
    void aReadRacingWithAnInvalidationIsNotKept() throws Exception {
        Server s = new Server("old", 60_000);
        s.during = () -> cache.invalidated(List.of(bytes("k"))); // another runner wrote k meanwhile
        assertEquals("old", read("k", s));
        s.during = () -> { };
        s.value = bytes("new");
        assertEquals("new", read("k", s), "the racing read was not kept");
    }

    @Test
    void aReadRacingWithALocalWriteIsNotKept() throws Exception {
        Server s = new Server("old", 60_000);
        s.during = () -> cache.invalidate("k");
        read("k", s);
        s.during = () -> { };
        s.value = bytes("new");
        assertEquals("new", read("k", s));
    }

    @Test
    void aReadRacingWithALossIsNotKept() throws Exception {
        Server s = new Server("old", 60_000);
        s.during = () -> ticket.set(2); // lost during the read; the reset has not run yet
        read("k", s);
        ticket.set(3);
        s.during = () -> { };
        s.value = bytes("new");
        assertEquals("new", read("k", s));
    }

    @Test
    void onlyTheReadThatLeftTheMarkerReplacesIt() throws Exception {
        Server first = new Server("first", 60_000);
        Server second = new Server("second", 60_000);
        // a second read of the same key starts (and finishes) while the first is in flight
        first.during = () -> {
            try {
                read("k", second);
            } catch (StorageException e) {
                throw new AssertionError(e);
            }
        };
        read("k", first);
        assertEquals("second", read("k", new Server("unused", 60_000)), "the later read's value is kept");
    }

    @Test
    void absentKeysAndVanishedKeysAreNotKept() throws Exception {
        Server none = new Server(null, -2);
        assertEquals(null, read("k", none));
        assertEquals(null, read("k", none));
        assertEquals(2, none.reads.get());
        Server vanished = new Server("v", -2); // GET saw it, PTTL did not
        read("j", vanished);
        read("j", vanished);
        assertEquals(2, vanished.reads.get());
    }

    @Test
    void aFlushOrAResetDropsEverything() throws Exception {
        Server s = new Server("v", 60_000);
        read("a", s);
        read("b", s);
        cache.invalidated(null);
        read("a", s);
        assertEquals(3, s.reads.get());
        cache.reset("test");
        read("a", s);
        read("b", s);
        assertEquals(5, s.reads.get());
        assertEquals(1, cache.statistics(true).resets());
    }

    @Test
    void aFailedReadLeavesNothingBehind() throws Exception {
        ClientSideCache.Reads failing = new ClientSideCache.Reads() {
            @Override
            public byte[] value() throws StorageException {
                throw new StorageException("down");
            }

            @Override
            public ClientSideCache.Read valueAndTtl() throws StorageException {
                throw new StorageException("down");
            }
        };
        assertThrows(StorageException.class, () -> cache.get("k", failing));
        assertEquals(0, cache.statistics(true).entries());
        Server s = new Server("v", 60_000);
        assertEquals("v", read("k", s));
        assertEquals(1, s.reads.get());
    }

    @Test
    void callersGetCopies() throws Exception {
        Server s = new Server("v", 60_000);
        cache.get("k", s).orElseThrow()[0] = 'X';
        byte[] served = cache.get("k", s).orElseThrow();
        assertArrayEquals(bytes("v"), served);
        served[0] = 'Y';
        assertArrayEquals(bytes("v"), cache.get("k", s).orElseThrow());
    }

    @Test
    void sizeIsBoundedByEntriesAndByBytes() throws Exception {
        ClientSideCache small = new ClientSideCache(new RedisSettings.ClientCache(true, 10, 1 << 20, 500),
                t -> 1, now::get);
        for (int i = 0; i < 100; i++) {
            small.get("k" + i, new Server("v", 60_000));
        }
        assertTrue(small.statistics(true).entries() <= 10, "entries: " + small.statistics(true));

        ClientSideCache bytesBound = new ClientSideCache(new RedisSettings.ClientCache(true, 1000, 64 << 10, 500),
                t -> 1, now::get);
        String big = "x".repeat(8 << 10);
        for (int i = 0; i < 100; i++) {
            bytesBound.get("k" + i, new Server(big, 60_000));
        }
        ClientCacheStatistics st = bytesBound.statistics(true);
        assertTrue(st.weightedBytes() <= 64 << 10 && st.entries() <= 8, "bytes: " + st);
        assertTrue(st.entries() > 0, "big values are still cached: " + st);
    }
}
