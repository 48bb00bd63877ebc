package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The PostgreSQL storage's client cache (on by default) across three runner processes, each
 * behind a simulated gateway of its own, sharing a database: sessions are answered without
 * reading the table once a runner has them, and a logout, a {@code sessions revoke} or a renewal
 * done elsewhere is seen by every runner (the table's trigger NOTIFYs, every runner LISTENs); a
 * killed LISTEN connection is replaced and invalidations flow again.
 *
 * <p>The invalidation delay is measured and printed by {@link RunnerFleet}.
 */
@RequiresService(SharedPostgres.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresClientCacheIT {
    private static final int RUNNERS = 3;
    private static final int LOGOUT_ROUNDS = 50;
    private static final String LISTENERS = "SELECT pid FROM pg_stat_activity WHERE datname = ? "
            + "AND application_name = 'apisix-session-listen'";

    private String database;
    private RunnerFleet fleet;

    @BeforeAll
    void start() throws Exception {
        database = PostgresTestDatabase.get().createDatabase("cache_e2e");
        fleet = new RunnerFleet(RUNNERS, clock -> PostgresStorageIT.runner().clock(clock));
        for (int i = 0; i < RUNNERS; i++) {
            SimulatedApisix gateway = fleet.gateways.get(i);
            gateway.route(E2e.apisixRoute("/app/*", appConf()));
            // the first runner renews after 12 s; on the others a session lives an hour
            gateway.route(E2e.apisixRoute("/roll/*", "storage", "postgres", "reject_status", 401, "stale_ttl", 1,
                    "rolling_timeout", i == 0 ? 16 : 3600, "postgres", PostgresStorageIT.postgres(database)));
        }
    }

    private Object[] appConf() {
        return new Object[] {"storage", "postgres", "reject_status", 401, "store_metadata", true,
            "postgres", PostgresStorageIT.postgres(database)};
    }

    @AfterAll
    void stop() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
    }

    private Set<Integer> listeners() {
        try (Connection c = PostgresTestDatabase.get().connection(database);
             PreparedStatement st = c.prepareStatement(LISTENERS)) {
            st.setString(1, database);
            Set<Integer> pids = new HashSet<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
            return pids;
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    /** Waits until every runner has a LISTEN connection, none of them in {@code gone}. */
    private void awaitListening(Set<Integer> gone) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RunnerFleet.DEADLINE_MS);
        Set<Integer> now;
        while ((now = listeners()).size() != RUNNERS || now.stream().anyMatch(gone::contains)) {
            assertTrue(System.nanoTime() < deadline, "listening: " + now + ", gone: " + gone);
            E2e.sleepSeconds(0.02);
        }
    }

    /** Index and sequential scans of the sessions table, as the statistics collector has them. */
    private long tableReads() throws SQLException {
        return PostgresStorageIT.count(database, "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) "
                + "FROM pg_stat_user_tables WHERE relname = 'apisix_sessions'");
    }

    /**
     * A session the runner has read once (while listening) is kept: two requests, the first a
     * miss that fills the cache. aSessionIsAnsweredWithoutReadingTheTable shows the second is a hit.
     */
    private void warm(int runner, String path, String cookie) {
        for (int i = 0; i < 2; i++) {
            Exchange ex = fleet.get(runner, path, cookie);
            assertEquals(200, ex.status(), why(ex, fleet.runners.get(runner)));
        }
    }

    @Test
    @Order(1)
    void aSessionIsAnsweredWithoutReadingTheTable() throws Exception {
        String cookie = fleet.login(0, "/app/login");
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", cookie); // also starts each runner's LISTEN connection
        }
        awaitListening(Set.of());
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", cookie);
        }
        // backends report their statistics at most every second, and after 10 s idle
        E2e.sleepSeconds(12);
        long before = tableReads();
        for (int i = 0; i < 20; i++) {
            for (int r = 0; r < RUNNERS; r++) {
                E2e.assertIdentity(fleet.get(r, "/app/data", cookie), fleet.runners.get(r), "fiona");
            }
        }
        E2e.sleepSeconds(12);
        long reads = tableReads() - before;
        assertTrue(reads < 10, "60 requests on 3 runners read the table " + reads + " times");
    }

    @Test
    @Order(2)
    void aLogoutOnOneRunnerIsSeenByTheOthers() throws Exception {
        awaitListening(Set.of());
        fleet.logoutRounds(LOGOUT_ROUNDS, "/app/", this::warm);
    }

    @Test
    @Order(3)
    void sessionsRevokeIsSeenByEveryRunner() throws Exception {
        String pw = PostgresTestDatabase.get().password();
        fleet.revokeEverywhere("/app/", this::warm, E2e.conf(appConf()),
                pw == null ? Map.of() : Map.of(PostgresStorageIT.PASSWORD_VARIABLE, pw));
    }

    /** See {@link RunnerFleet#renewalEndsTheOldSessionElsewhere}: the old row is cut to stale_ttl (1 s). */
    @Test
    @Order(4)
    void aRenewalOnOneRunnerEndsTheOldSessionOnTheOthers() {
        fleet.renewalEndsTheOldSessionElsewhere("/roll/", this::warm);
    }

    @Test
    @Order(5)
    void killedListenConnectionsAreReplacedAndInvalidationsFlowAgain() throws Exception {
        Set<Integer> killed = listeners();
        assertEquals(RUNNERS, killed.size(), killed.toString());
        for (int pid : killed) {
            PostgresStorageIT.count(database, "SELECT count(*) FROM (SELECT pg_terminate_backend(?)) t", pid);
        }
        awaitListening(killed);
        String cookie = fleet.login(0, "/app/login");
        for (int r = 1; r < RUNNERS; r++) {
            warm(r, "/app/data", cookie);
        }
        Exchange logout = fleet.gateways.get(0).send(
                io.github.apisixsession.simulator.ClientRequest.post("/app/x?session_logout").cookie(cookie));
        assertEquals(200, logout.status(), why(logout, fleet.runners.get(0)));
        for (int r = 1; r < RUNNERS; r++) {
            fleet.awaitStatus(r, "/app/data", cookie, 401);
        }
    }
}
