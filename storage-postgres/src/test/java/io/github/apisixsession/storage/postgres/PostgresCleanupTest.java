package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.CapturedStderr;
import io.github.apisixsession.testing.RequiresService;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The batched delete of expired rows: batches, metadata, SKIP LOCKED, the daemon thread. */
@RequiresService(SharedPostgres.class)
class PostgresCleanupTest {

    private String database;
    private String prefix;

    @BeforeEach
    void freshDatabase() throws Exception {
        database = PostgresTestDatabase.get().createDatabase("cleanup");
        prefix = "c" + UUID.randomUUID().toString().substring(0, 8) + ":";
    }

    @AfterEach
    void noop() {
    }

    private PostgresSettings settings(Duration interval, int batch) {
        return PgTest.settings(database).withCleanup(interval, batch);
    }

    /** Rows whose expiry lies in the past, written directly (the storage refuses non-positive TTLs). */
    private void insertExpired(int n, String tag) throws Exception {
        PgTest.update(database, "INSERT INTO public.apisix_sessions (key, data, expires_at) "
                + "SELECT ? || g, '\\x00', now() - interval '1 minute' FROM generate_series(1, ?) g", prefix + tag, n);
    }

    private long rows() throws Exception {
        return PgTest.count(database, "SELECT count(*) FROM public.apisix_sessions");
    }

    @Test
    void deletesEveryExpiredRowInBatchesAndKeepsLiveOnes() throws Exception {
        try (PostgresSessionStorage s = PgTest.open(settings(Duration.ZERO, 7))) {
            insertExpired(50, "old");
            for (int i = 0; i < 5; i++) {
                s.set(prefix + "live" + i, new byte[] {1}, Duration.ofHours(1));
            }
            assertEquals(55, rows());
            assertEquals(50, s.cleanUpExpired(), "50 rows in 8 batches of at most 7");
            assertEquals(5, rows());
            assertEquals(0, s.cleanUpExpired());
        }
    }

    @Test
    void metadataOfExpiredSessionsGoesWithThem() throws Exception {
        try (PostgresSessionStorage s = PgTest.open(settings(Duration.ZERO, 100))) {
            SessionMetadata meta = SessionMetadata.of("aud", prefix + "alice");
            s.set(prefix + "short", new byte[] {1}, Duration.ofMillis(200), null, meta);
            s.set(prefix + "long", new byte[] {2}, Duration.ofHours(1), null, meta);
            Thread.sleep(400);
            assertEquals(1, s.cleanUpExpired());
            assertEquals(1, PgTest.count(database, "SELECT count(*) FROM public.apisix_session_metadata WHERE subject = ?",
                    prefix + "alice"));
            assertEquals(java.util.Set.of(prefix + "long"), s.sessionsOf("aud", prefix + "alice").keySet());
        }
    }

    @Test
    void rowsLockedByAnotherRunnerAreSkippedNotWaitedFor() throws Exception {
        try (PostgresSessionStorage s = PgTest.open(settings(Duration.ZERO, 10))) {
            insertExpired(30, "x");
            try (Connection other = PostgresTestDatabase.get().connection(database); Statement st = other.createStatement()) {
                other.setAutoCommit(false);
                // another runner's cleanup (or a renewal) holds 5 of the expired rows
                st.execute("SELECT key FROM public.apisix_sessions WHERE key LIKE '" + prefix + "x%' "
                        + "ORDER BY key LIMIT 5 FOR UPDATE");
                // the other transaction keeps its locks until this call has returned: a cleanup that
                // waited for them could only end with its query timeout, an exception, not 25
                assertEquals(25, s.cleanUpExpired());
                other.rollback();
            }
            assertEquals(5, s.cleanUpExpired(), "the next round takes the rows that were locked");
            assertEquals(0, rows());
        }
    }

    @Test
    void theDaemonThreadCleansUpPeriodicallyAndStopsOnClose() throws Exception {
        PostgresSessionStorage s = PgTest.open(settings(Duration.ofSeconds(1), 1000));
        try {
            assertTrue(s.cleanupRunning());
            insertExpired(20, "bg");
            s.set(prefix + "live", new byte[] {1}, Duration.ofHours(1));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (rows() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(1, rows(), "expired rows removed by the background cleanup");
            Thread cleaner = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("apisix-session-postgres-cleanup-") && t.isAlive())
                    .findFirst().orElseThrow();
            assertTrue(cleaner.isDaemon(), "never keeps the runner alive");
        } finally {
            s.close();
        }
        assertFalse(s.cleanupRunning());
    }

    @Test
    void cleanupIntervalZeroStartsNoThread() throws Exception {
        try (PostgresSessionStorage s = PgTest.open(settings(Duration.ZERO, 1000))) {
            assertFalse(s.cleanupRunning());
        }
    }

    @Test
    void aFailingCleanupDoesNotStopTheSchedule() throws Exception {
        // the cleanup's connection goes to a closed port; the storage's own requests are not affected
        PostgresSettings good = settings(Duration.ofSeconds(1), 1000);
        PostgresSettings bad = new PostgresSettings("jdbc:postgresql://127.0.0.1:1/nowhere", good.username(),
                good.password(), good.schema(), good.tablePrefix(), 2, Duration.ofMillis(500), Duration.ofSeconds(1),
                false, good.cleanupInterval(), 1000);
        try (CapturedStderr logs = new CapturedStderr(); PostgresSessionStorage s = PgTest.open(good);
             PostgresSessionStorage broken = new PostgresSessionStorage(bad, PostgresConnections.pool(good),
                     PostgresConnections.driverDataSource(bad))) {
            broken.set(prefix + "k", new byte[] {3}, Duration.ofMinutes(1));
            // two failed rounds logged: the schedule went on after a failure
            assertTrue(logs.await("cleanup of expired sessions failed", 2, Duration.ofSeconds(30)), logs.text());
            assertTrue(broken.cleanupRunning(), "still scheduled after failures");
            assertEquals(1, broken.get(prefix + "k").map(v -> v.length).orElse(0));
            assertTrue(s.cleanupRunning());
        }
    }
}
