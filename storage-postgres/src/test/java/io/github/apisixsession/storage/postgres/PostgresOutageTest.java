package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.CircuitBreaker;
import io.github.apisixsession.storage.CircuitOpenException;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.storage.postgres.testing.TcpProxy;
import io.github.apisixsession.testing.Causes;
import io.github.apisixsession.testing.RequiresService;
import java.io.EOFException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * The database going away behind a TCP proxy: every call fails with a StorageException, ended by
 * what the settings bound (the pool's connect_timeout, the query_timeout) or by the connection
 * being refused or closed, never by anything unbounded; and the storage works again, with the data
 * written before the fault, once the database is back. {@code @Timeout} only turns a hang into a
 * failure: how long a call took is not asserted.
 */
@RequiresService(SharedPostgres.class)
@Timeout(120)
class PostgresOutageTest {

    private static final Duration CONNECT = Duration.ofSeconds(1);
    private static final Duration QUERY = Duration.ofSeconds(1);
    /** What ends a call to a database that does not answer: the pool's connect_timeout, the query timeout. */
    static final List<Class<? extends Throwable>> TIMED_OUT = List.of(SQLTransientConnectionException.class,
            SQLTimeoutException.class, SocketTimeoutException.class);
    /** What ends a call to a database that is gone: the connection refused or closed, or the pool giving up. */
    static final List<Class<? extends Throwable>> DOWN = List.of(SQLTransientConnectionException.class,
            ConnectException.class, SocketException.class, EOFException.class);

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

    private static StorageException fails(Executable call, List<Class<? extends Throwable>> endedBy) {
        StorageException e = assertThrows(StorageException.class, call);
        assertTrue(e.getMessage().startsWith("postgres "), e.getMessage());
        return Causes.assertCausedBy(e, endedBy);
    }

    @Test
    void databaseDownFailsFastAndRecoversWithTheDataWrittenBefore() throws Exception {
        storage.set(p + "before", new byte[] {1, 2}, Duration.ofHours(1));
        assertTrue(storage.healthy());

        proxy.cut();
        fails(() -> storage.get(p + "before"), DOWN);
        assertFalse(storage.healthy(), "the outage is noticed (and logged once)");
        fails(() -> storage.set(p + "during", new byte[] {3}, Duration.ofHours(1)), DOWN);
        fails(() -> storage.delete(p + "before"), DOWN);
        assertFalse(storage.healthy());

        proxy.restore();
        assertArrayEquals(new byte[] {1, 2}, readOnceBack(p + "before"), "written before the fault");
        assertTrue(storage.healthy(), "the recovery is noticed (and logged)");
        storage.set(p + "after", new byte[] {4}, Duration.ofHours(1));
        assertArrayEquals(new byte[] {4}, storage.get(p + "after").orElseThrow());
    }

    @Test
    void databaseHangingIsCutOffByTheTimeouts() throws Exception {
        storage.set(p + "before", new byte[] {5}, Duration.ofHours(1));

        proxy.blackhole();
        fails(() -> storage.get(p + "before"), TIMED_OUT);
        fails(() -> storage.set(p + "during", new byte[] {6}, Duration.ofHours(1), p + "before", Duration.ofSeconds(10)),
                TIMED_OUT);

        proxy.restore();
        assertArrayEquals(new byte[] {5}, readOnceBack(p + "before"));
        assertTrue(storage.healthy());
    }

    /**
     * Reads {@code key} until the database answers again: a pooled connection torn by the fault
     * is evicted on first use, and the pool's next connection attempt may still be backing off
     * (docs/postgres.md: the first request succeeds up to about 5 s after the server is back).
     */
    private byte[] readOnceBack(String key) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return storage.get(key).orElseThrow();
            } catch (StorageException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /**
     * The client cache (on here, heartbeat 500 ms) answers a session it holds while the hung
     * database's lease lasts (heartbeat + query_timeout), then reads go to the database and time
     * out; once the database answers again, the cache listens again and fills.
     */
    @Test
    void aHungDatabaseEndsTheCachedAnswersOnceTheHeartbeatGoesUnanswered() throws Exception {
        storage.set(p + "cached", new byte[] {7}, Duration.ofHours(1));
        awaitHit(p + "cached");

        proxy.blackhole();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        StorageException failed = null;
        while (failed == null) {
            assertTrue(System.nanoTime() < deadline, "the cached session is still answered");
            try {
                assertArrayEquals(new byte[] {7}, storage.get(p + "cached").orElseThrow());
                Thread.sleep(50);
            } catch (StorageException e) {
                failed = e;
            }
        }
        Causes.assertCausedBy(failed, TIMED_OUT);

        proxy.restore();
        awaitHit(p + "cached");
    }

    /** Reads {@code key} until one is answered from the client cache (it listens again first). */
    private void awaitHit(String key) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            long hits = storage.clientCacheStatistics().hits();
            try {
                assertArrayEquals(new byte[] {7}, storage.get(key).orElseThrow());
                if (storage.clientCacheStatistics().hits() > hits) {
                    return;
                }
            } catch (StorageException e) {
                // a pooled connection torn by the blackhole is evicted on first use
            }
            assertTrue(System.nanoTime() < deadline, "never answered from the cache");
            Thread.sleep(50);
        }
    }

    /** A storage behind the proxy whose circuit opens after 3 failures, for {@code openFor}, with no client cache. */
    private PostgresSessionStorage guardedStorage(Duration openFor) throws Exception {
        PostgresTestDatabase db = PostgresTestDatabase.get();
        return PgTest.open(new PostgresSettings(db.jdbcUrl().replace(db.host() + ":" + db.port(),
                proxy.host() + ":" + proxy.port()), db.user(), db.password(), "public", "apisix_", 4, CONNECT, QUERY,
                false, Duration.ZERO, 1000, new CircuitBreaker.Settings(3, openFor), PostgresSettings.ClientCache.OFF,
                null));
    }

    @Test
    void afterConsecutiveFailuresTheCircuitOpensAndATrialClosesItOnceTheDatabaseIsBack() throws Exception {
        try (PostgresSessionStorage guarded = guardedStorage(Duration.ofMillis(300))) {
            guarded.set(p + "before", new byte[] {7}, Duration.ofHours(1));
            proxy.cut();
            for (int i = 0; i < 3; i++) {
                fails(() -> guarded.get(p + "before"), DOWN);
            }
            // the circuit is open: no connection attempt, the last cause named
            CircuitOpenException open = assertThrows(CircuitOpenException.class, () -> guarded.get(p + "before"));
            assertTrue(open.getMessage().startsWith("circuit open: "), open.getMessage());
            assertThrows(CircuitOpenException.class, () -> guarded.delete(p + "before"));
            // the shared state (issue 13) is behind the same breaker
            assertThrows(CircuitOpenException.class,
                    () -> guarded.sharedState().orElseThrow().increment(p + "failures", Duration.ofMinutes(1)));

            proxy.restore();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            byte[] got = null;
            while (got == null && System.nanoTime() < deadline) {
                try {
                    got = guarded.get(p + "before").orElseThrow();
                } catch (StorageException e) {
                    Thread.sleep(100); // open until a trial after the cool-down reaches the database
                }
            }
            assertArrayEquals(new byte[] {7}, got, "written before the fault, not deleted while open");
            assertTrue(guarded.healthy());
        }
    }

    @Test
    void sharedStateFailuresOpenTheStoragesCircuitToo() throws Exception {
        try (PostgresSessionStorage guarded = guardedStorage(Duration.ofSeconds(30))) {
            var state = guarded.sharedState().orElseThrow();
            state.increment(p + "failures", Duration.ofMinutes(1));
            proxy.cut();
            for (int i = 0; i < 3; i++) {
                fails(() -> state.revoke(p + "id", java.time.Instant.now().plusSeconds(60)), DOWN);
            }
            assertThrows(CircuitOpenException.class, () -> state.increment(p + "failures", Duration.ofMinutes(1)));
            assertThrows(CircuitOpenException.class, () -> guarded.get(p + "before"), "one breaker per storage");
        }
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
