package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.storage.postgres.testing.TcpProxy;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The database going away behind a TCP proxy: every call fails with a StorageException within
 * connect_timeout + query_timeout (plus a margin), and the storage works again, with the data
 * written before the fault, once the database is back.
 */
@RequiresService(SharedPostgres.class)
class PostgresOutageTest {

    private static final Duration CONNECT = Duration.ofSeconds(1);
    private static final Duration QUERY = Duration.ofSeconds(1);
    /** Generous against a busy machine; what matters is that nothing waits indefinitely. */
    private static final double BOUND_SECONDS = CONNECT.plus(QUERY).toMillis() / 1000.0 + 4.0;

    private TcpProxy proxy;
    private PostgresSessionStorage storage;
    private String p;

    @BeforeEach
    void open() throws Exception {
        PostgresTestDatabase db = PostgresTestDatabase.get();
        PgTest.open(PgTest.settings()).close(); // migrated directly, not through the proxy
        proxy = new TcpProxy(db.host(), db.port());
        PostgresSettings s = new PostgresSettings(db.jdbcUrl().replace(db.host() + ":" + db.port(),
                proxy.host() + ":" + proxy.port()), db.user(), db.password(), "public", "apisix_", 4, CONNECT, QUERY,
                false, Duration.ZERO, 1000);
        storage = PgTest.open(s);
        p = "outage-" + UUID.randomUUID() + ":";
    }

    @AfterEach
    void close() {
        if (storage != null) {
            storage.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private static double failsWithin(Executable call) {
        long t0 = System.nanoTime();
        StorageException e = assertThrows(StorageException.class, call);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().startsWith("postgres "), e.getMessage());
        assertTrue(seconds < BOUND_SECONDS, "waited " + seconds + " s, bound " + BOUND_SECONDS + ": " + e.getMessage());
        return seconds;
    }

    @Test
    void databaseDownFailsFastAndRecoversWithTheDataWrittenBefore() throws Exception {
        storage.set(p + "before", new byte[] {1, 2}, Duration.ofHours(1));
        assertTrue(storage.healthy());

        proxy.cut();
        failsWithin(() -> storage.get(p + "before"));
        assertFalse(storage.healthy(), "the outage is noticed (and logged once)");
        failsWithin(() -> storage.set(p + "during", new byte[] {3}, Duration.ofHours(1)));
        failsWithin(() -> storage.delete(p + "before"));
        assertFalse(storage.healthy());

        proxy.restore();
        assertArrayEquals(new byte[] {1, 2}, storage.get(p + "before").orElseThrow(), "written before the fault");
        assertTrue(storage.healthy(), "the recovery is noticed (and logged)");
        storage.set(p + "after", new byte[] {4}, Duration.ofHours(1));
        assertArrayEquals(new byte[] {4}, storage.get(p + "after").orElseThrow());
    }

    @Test
    void databaseHangingIsCutOffByTheTimeouts() throws Exception {
        storage.set(p + "before", new byte[] {5}, Duration.ofHours(1));

        proxy.blackhole();
        failsWithin(() -> storage.get(p + "before"));
        failsWithin(() -> storage.set(p + "during", new byte[] {6}, Duration.ofHours(1), p + "before", Duration.ofSeconds(10)));

        proxy.restore();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        byte[] got = null;
        while (got == null && System.nanoTime() < deadline) {
            try {
                got = storage.get(p + "before").orElseThrow();
            } catch (StorageException e) {
                Thread.sleep(100); // a pooled connection torn by the blackhole is evicted on first use
            }
        }
        assertArrayEquals(new byte[] {5}, got);
        assertTrue(storage.healthy());
    }

    @Test
    void onlyConnectionFailuresCountAsAnOutage() {
        assertTrue(PostgresSessionStorage.unreachable(new java.sql.SQLTransientConnectionException("pool timeout")));
        assertTrue(PostgresSessionStorage.unreachable(new RuntimeException(new java.sql.SQLException("reset", "08006"))));
        assertTrue(PostgresSessionStorage.unreachable(new java.sql.SQLException("terminating connection", "57P01")));
        assertTrue(PostgresSessionStorage.unreachable(new RuntimeException(new java.net.SocketTimeoutException("read"))));
        assertFalse(PostgresSessionStorage.unreachable(new java.sql.SQLException("value too long", "22001")));
        assertFalse(PostgresSessionStorage.unreachable(new java.sql.SQLException("duplicate key", "23505")));
        assertFalse(PostgresSessionStorage.unreachable(new IllegalStateException("no cause")));
    }
}
