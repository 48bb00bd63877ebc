package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.cache.CoherentCache;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client cache against a real PostgreSQL: reads answered locally once listening, changes made
 * by other connections (another storage, plain SQL, the cleanup) seen, and no stale read once the
 * LISTEN connection is killed or the trigger is disabled, until it listens again.
 */
@RequiresService(SharedPostgres.class)
class PostgresClientCacheTest {

    /** Generous: a loaded machine; a working cache needs milliseconds. */
    private static final long DEADLINE_MS = 20_000;
    private static final PostgresSettings.ClientCache FAST =
            new PostgresSettings.ClientCache(true, 1000, 1L << 20, 100);

    private static final long HOUR_NANOS = Duration.ofHours(1).toNanos();

    private static String database;
    private static PostgresSettings settings;
    private static PostgresSessionStorage storage;
    /** Another runner's storage on the same tables. */
    private static PostgresSessionStorage other;
    private String p;

    @BeforeAll
    static void open() throws Exception {
        database = PostgresTestDatabase.get().createDatabase("cache");
        settings = PgTest.settings(database).withClientCache(FAST, null);
        storage = PgTest.open(settings);
        other = PgTest.open(settings);
    }

    @AfterAll
    static void close() {
        if (storage != null) {
            storage.close();
        }
        if (other != null) {
            other.close();
        }
    }

    @BeforeEach
    void prefix() {
        p = "cache-" + UUID.randomUUID() + ":";
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMillis(DEADLINE_MS).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "never: " + what);
            Thread.sleep(10);
        }
    }

    private static PostgresClientCache.Statistics stats() {
        return storage.clientCacheStatistics();
    }

    /** Reads {@code key} until a read is answered from the cache. */
    private static void warm(String key) throws Exception {
        await("a read of " + key + " answered from the cache", () -> {
            try {
                long hits = stats().hits();
                storage.get(key);
                return stats().hits() > hits;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    private static void awaitValue(String key, byte[] expected) throws InterruptedException {
        await(key + " = " + (expected == null ? "nothing" : new String(expected, StandardCharsets.UTF_8)), () -> {
            try {
                Optional<byte[]> v = storage.get(key);
                return expected == null ? v.isEmpty() : v.isPresent() && java.util.Arrays.equals(expected, v.get());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    private static void sql(String statement, Object... args) throws Exception {
        PgTest.update(database, statement, args);
    }

    @Test
    void aReadIsAnsweredLocallyOnceListening() throws Exception {
        storage.set(p + "k", bytes("v1"), Duration.ofHours(1));
        warm(p + "k");
        long hits = stats().hits();
        for (int i = 0; i < 10; i++) {
            assertArrayEquals(bytes("v1"), storage.get(p + "k").orElseThrow());
        }
        assertEquals(hits + 10, stats().hits());
        assertTrue(stats().listening());
    }

    @Test
    void updatesAndDeletesByOtherConnectionsInvalidate() throws Exception {
        storage.set(p + "k", bytes("v1"), Duration.ofHours(1));
        warm(p + "k");
        long invalidations = stats().invalidations();
        sql("UPDATE public.apisix_sessions SET data = ? WHERE key = ?", bytes("v2"), p + "k");
        awaitValue(p + "k", bytes("v2"));
        assertTrue(stats().invalidations() > invalidations);

        warm(p + "k");
        other.set(p + "k", bytes("v3"), Duration.ofHours(1));
        awaitValue(p + "k", bytes("v3"));

        warm(p + "k");
        sql("DELETE FROM public.apisix_sessions WHERE key = ?", p + "k");
        awaitValue(p + "k", null);

        storage.set(p + "gone", bytes("x"), Duration.ofHours(1));
        warm(p + "gone");
        other.delete(p + "gone", null);
        awaitValue(p + "gone", null);
    }

    @Test
    void aRenewalElsewhereCutsTheCachedOldSessionToItsStaleTtl() throws Exception {
        storage.set(p + "old", bytes("v"), Duration.ofHours(1));
        warm(p + "old");
        other.set(p + "new", bytes("v"), Duration.ofHours(1), p + "old", Duration.ofMillis(1500));
        // re-read with the short life, then gone without any further notification
        awaitValue(p + "old", null);
    }

    /** What the trigger announces: updates and deletes (the cleanup's too), not inserts. */
    @Test
    void theTriggerAnnouncesUpdatesAndDeletesNotInserts() throws Exception {
        try (java.sql.Connection c = PostgresTestDatabase.get().connection(database);
             java.sql.Statement st = c.createStatement()) {
            st.execute("LISTEN \"public.apisix_sessions\"");
            org.postgresql.PGConnection pg = c.unwrap(org.postgresql.PGConnection.class);
            sql("INSERT INTO public.apisix_sessions (key, data, expires_at) VALUES (?, ?, now() - interval '1 second')",
                    p + "expired", bytes("x"));
            storage.set(p + "new", bytes("x"), Duration.ofHours(1));
            storage.set(p + "new", bytes("y"), Duration.ofHours(1));
            storage.cleanUpExpired();
            java.util.List<String> heard = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofMillis(DEADLINE_MS).toNanos();
            while (heard.size() < 2 && System.nanoTime() < deadline) {
                org.postgresql.PGNotification[] ns = pg.getNotifications(500);
                for (org.postgresql.PGNotification n : ns == null ? new org.postgresql.PGNotification[0] : ns) {
                    assertEquals("public.apisix_sessions", n.getName());
                    if (n.getParameter().startsWith(p)) {
                        heard.add(n.getParameter());
                    }
                }
            }
            // in commit order: the upsert that updated, then the cleanup's delete; neither insert
            assertEquals(java.util.List.of(p + "new", p + "expired"), heard);
        }
    }

    @Test
    void aKilledListenConnectionDropsTheCacheUntilItListensAgain() throws Exception {
        NotificationFeed feed = storage.notificationFeed();
        storage.set(p + "k", bytes("v1"), Duration.ofHours(1));
        warm(p + "k");
        int pid = feed.backendPid();
        assertTrue(pid > 0);
        long resets = stats().resets();
        assertEquals(1, PgTest.count(database, "SELECT count(*) FROM pg_stat_activity WHERE pid = ? "
                + "AND application_name = 'apisix-session-listen'", pid));

        // the connection ends first, then the row changes: that change is never announced
        assertEquals(java.util.List.of("t"), PgTest.strings(database, "SELECT pg_terminate_backend(?)", pid));
        await("the loss noticed", () -> stats().resets() > resets);
        sql("UPDATE public.apisix_sessions SET data = ? WHERE key = ?", bytes("v2"), p + "k");
        // not read from the dropped cache, whether or not the feed listens again by now
        assertArrayEquals(bytes("v2"), storage.get(p + "k").orElseThrow());

        await("listening again", () -> feed.backendPid() > 0 && feed.backendPid() != pid);
        warm(p + "k");
        sql("UPDATE public.apisix_sessions SET data = ? WHERE key = ?", bytes("v3"), p + "k");
        awaitValue(p + "k", bytes("v3"));
    }

    @Test
    void withoutTheTriggerNothingIsCached() throws Exception {
        storage.set(p + "k", bytes("v1"), Duration.ofHours(1));
        warm(p + "k");
        long resets = stats().resets();
        sql("ALTER TABLE public.apisix_sessions DISABLE TRIGGER apisix_sessions_notify");
        try {
            await("the disabled trigger noticed", () -> stats().resets() > resets && !stats().listening());
            for (int i = 2; i < 5; i++) {
                // nothing announces these: every read must go to the database
                sql("UPDATE public.apisix_sessions SET data = ? WHERE key = ?", bytes("v" + i), p + "k");
                assertArrayEquals(bytes("v" + i), storage.get(p + "k").orElseThrow());
            }
            assertFalse(stats().listening());
        } finally {
            sql("ALTER TABLE public.apisix_sessions ENABLE TRIGGER apisix_sessions_notify");
        }
        await("listening again", () -> stats().listening());
        warm(p + "k");
    }

    /** Reads that race with a change or a loss are answered but never kept. */
    @Test
    void aReadThatRacesWithAChangeIsNotKept() throws Exception {
        NotificationFeed feed = new NotificationFeed(settings, PostgresConnections.driverDataSource(settings),
                System::nanoTime);
        try (PostgresClientCache cache = new PostgresClientCache("direct", FAST, feed, System::nanoTime)) {
            AtomicInteger reads = new AtomicInteger();
            CoherentCache.Query<byte[]> plain = () -> bytes("plain");
            cache.get("k", plain, () -> null);
            await("listening", () -> feed.ticket(System.nanoTime()) >= 0);

            // a notification while the read is in flight
            CoherentCache.Query<CoherentCache.Read> notified = () -> {
                reads.incrementAndGet();
                cache.invalidated("k");
                return new CoherentCache.Read(bytes("old"), HOUR_NANOS);
            };
            assertArrayEquals(bytes("old"), cache.get("k", plain, notified).orElseThrow());
            assertArrayEquals(bytes("old"), cache.get("k", plain, notified).orElseThrow());
            assertEquals(2, reads.get(), "not kept: read again");

            // a reset while the read is in flight
            CoherentCache.Query<CoherentCache.Read> reset = () -> {
                reads.incrementAndGet();
                cache.reset("test");
                return new CoherentCache.Read(bytes("old"), HOUR_NANOS);
            };
            cache.get("r", plain, reset);
            cache.get("r", plain, reset);
            assertEquals(4, reads.get(), "not kept: read again");

            // a quiet read is kept
            CoherentCache.Query<CoherentCache.Read> quiet = () -> {
                reads.incrementAndGet();
                return new CoherentCache.Read(bytes("new"), HOUR_NANOS);
            };
            cache.get("q", plain, quiet);
            assertArrayEquals(bytes("new"), cache.get("q", plain, quiet).orElseThrow());
            assertEquals(5, reads.get(), "kept: answered locally");
            assertNotEquals(0, cache.statistics().hits());
        }
    }

    @Test
    void theChannelFitsPostgresLimit() {
        assertEquals("public.apisix_sessions", settings.notifyChannel());
        String longSchema = "s".repeat(63);
        String channel = settings.withSchema(longSchema, "p".repeat(30)).notifyChannel();
        assertTrue(channel.startsWith("apisix_session_") && channel.length() == 15 + 32, channel);
    }

    @Test
    void theCountersArePublishedOverJmxUntilTheStorageCloses() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName pattern = new ObjectName("io.github.apisixsession:type=PostgresClientCache,*");
        Set<ObjectName> before = server.queryNames(pattern, null);
        PostgresSessionStorage third = PgTest.open(settings);
        try {
            Set<ObjectName> added = new HashSet<>(server.queryNames(pattern, null));
            added.removeAll(before);
            assertEquals(1, added.size(), "one bean per storage: " + added);
            ObjectName bean = added.iterator().next();
            assertEquals(settings.describe(), server.getAttribute(bean, "Storage"));
            third.set(p + "jmx", bytes("v"), Duration.ofHours(1));
            await("a read of the key answered from the cache", () -> {
                try {
                    long hits = third.clientCacheStatistics().hits();
                    third.get(p + "jmx");
                    return third.clientCacheStatistics().hits() > hits;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(third.clientCacheStatistics().hits(), server.getAttribute(bean, "Hits"));
            assertEquals(true, server.getAttribute(bean, "Tracking"));
            assertEquals(1L, server.getAttribute(bean, "Entries"));
            third.close();
            assertFalse(server.isRegistered(bean), "withdrawn when the storage closes");
        } finally {
            third.close();
        }
    }
}
