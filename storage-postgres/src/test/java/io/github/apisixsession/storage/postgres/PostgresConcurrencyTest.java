package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage.Renewal;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two runners (two storages, two pools) on one database: concurrent renewals of the same session,
 * concurrent writes of the same key, renewals racing the cleanup.
 */
@RequiresService(SharedPostgres.class)
class PostgresConcurrencyTest {

    private static PostgresSessionStorage a;
    private static PostgresSessionStorage b;
    private static String database;

    @BeforeAll
    static void open() throws Exception {
        database = io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase.get().database();
        a = PgTest.open(PgTest.settings());
        b = PgTest.open(PgTest.settings());
    }

    @AfterAll
    static void close() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void concurrentRenewalsOfOneSessionFromTwoPools() throws Exception {
        String p = "renew-" + UUID.randomUUID() + ":";
        int rounds = 100;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < rounds; i++) {
                a.set(p + "old" + i, bytes("v0"), Duration.ofHours(1));
            }
            CyclicBarrier barrier = new CyclicBarrier(2);
            List<Future<Integer>> results = new ArrayList<>();
            for (PostgresSessionStorage s : List.of(a, b)) {
                String who = s == a ? "a" : "b";
                results.add(pool.submit((Callable<Integer>) () -> {
                    for (int i = 0; i < rounds; i++) {
                        barrier.await(60, TimeUnit.SECONDS);
                        s.set(p + "new-" + who + i, bytes(who + i), Duration.ofHours(1),
                                new Renewal(p + "old" + i, Duration.ofMinutes(5)), SessionMetadata.of("aud", p + "sub"));
                    }
                    return rounds;
                }));
            }
            for (Future<Integer> f : results) {
                assertEquals(rounds, f.get(120, TimeUnit.SECONDS));
            }
            for (int i = 0; i < rounds; i++) {
                assertArrayEquals(bytes("a" + i), b.get(p + "new-a" + i).orElseThrow(), "a's write visible to b");
                assertArrayEquals(bytes("b" + i), a.get(p + "new-b" + i).orElseThrow(), "b's write visible to a");
                assertArrayEquals(bytes("v0"), a.get(p + "old" + i).orElseThrow(), "old key readable within stale_ttl");
            }
            assertEquals(0, PgTest.count(database, "SELECT count(*) FROM public.apisix_sessions WHERE key LIKE ? "
                    + "AND expires_at > now() + interval '301 seconds'", p + "old%"), "every old row shortened to stale_ttl");
            assertEquals(2 * rounds, a.sessionsOf("aud", p + "sub").size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void concurrentWritesOfTheSameKeyNeverFail() throws Exception {
        String key = "same-" + UUID.randomUUID();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                PostgresSessionStorage s = t % 2 == 0 ? a : b;
                int thread = t;
                results.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        s.set(key, bytes(thread + "/" + i), Duration.ofMinutes(5));
                    }
                    return null;
                }));
            }
            for (Future<?> f : results) {
                f.get(60, TimeUnit.SECONDS); // an ON CONFLICT race would throw a unique violation here
            }
            String last = new String(a.get(key).orElseThrow(), StandardCharsets.UTF_8);
            assertTrue(last.endsWith("/49"), last);
            assertEquals(1, PgTest.count(database, "SELECT count(*) FROM public.apisix_sessions WHERE key = ?", key));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void renewalsRacingTheCleanupOfBothRunners() throws Exception {
        String p = "race-" + UUID.randomUUID() + ":";
        // the cleanups count every expired row of the table: rows of earlier tests that would
        // expire meanwhile (the stale copies above, on a slow machine) must not be counted
        PgTest.update(database, "DELETE FROM public.apisix_sessions WHERE key NOT LIKE ? "
                + "AND expires_at < now() + interval '10 minutes'", p + "%");
        PgTest.update(database, "INSERT INTO public.apisix_sessions (key, data, expires_at) "
                + "SELECT ? || g, '\\x00', now() - interval '1 second' FROM generate_series(1, 3000) g", p + "dead");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Long>> cleanups = List.of(pool.submit(a::cleanUpExpired), pool.submit(b::cleanUpExpired));
            Future<?> writer = pool.submit(() -> {
                for (int i = 0; i < 200; i++) {
                    a.set(p + "live" + i, bytes("x"), Duration.ofHours(1), new Renewal(p + "dead" + (i + 1), Duration.ofSeconds(5)), null);
                }
                return null;
            });
            long deleted = 0;
            for (Future<Long> f : cleanups) {
                deleted += f.get(60, TimeUnit.SECONDS);
            }
            writer.get(60, TimeUnit.SECONDS);
            deleted += a.cleanUpExpired();
            assertEquals(3000, deleted, "each expired row deleted exactly once across both runners");
            assertEquals(200, PgTest.count(database, "SELECT count(*) FROM public.apisix_sessions WHERE key LIKE ?", p + "%"));
        } finally {
            pool.shutdownNow();
        }
    }
}
