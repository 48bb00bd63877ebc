package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.storage.postgres.testing.TcpProxy;
import io.github.apisixsession.testing.RequiresService;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The database fails under a running runner. The runner reaches PostgreSQL through a TCP proxy
 * in this JVM that the test cuts (connections reset, new ones refused: the server is down) or
 * black-holes (accepted, never answered: the server hangs) and restores: the shared server itself
 * is never touched, and the faults are deterministic.
 *
 * <p>Expected: each request waits at most connect_timeout + query_timeout (1 s + 1 s here; the
 * assertions allow 6 s more for a loaded machine: they tell a bounded wait from a hang), answers
 * 503 with the storage error body, the runner stays up, and the session written before the fault
 * works once the database is back.
 */
@RequiresService(SharedPostgres.class)
class PostgresOutageIT {

    private static final double BOUND_SECONDS = 2 + 6;

    private String database;
    private TcpProxy proxy;

    @BeforeEach
    void setUp() throws Exception {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        database = pg.createDatabase("outage");
        proxy = new TcpProxy(pg.host(), pg.port());
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private Map<String, Object> viaProxy() {
        return PostgresStorageIT.postgresAt(proxy.host(), proxy.port(), database,
                "connect_timeout", 1, "query_timeout", 1, "pool_size", 4);
    }

    private static Exchange timed503(SimulatedApisix apisix, RunnerProcess runner, ClientRequest request) {
        long t0 = System.nanoTime();
        Exchange ex = apisix.send(request);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(503, ex.status(), why(ex, runner));
        assertTrue(ex.body().contains("session storage unavailable"), why(ex, runner));
        assertTrue(seconds < BOUND_SECONDS, "answered after " + seconds + " s, bound " + BOUND_SECONDS + "\n" + why(ex, runner));
        assertTrue(runner.isAlive(), "the runner stays up");
        return ex;
    }

    @Test
    void databaseDownThenBack() throws Exception {
        try (RunnerProcess runner = PostgresStorageIT.startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", viaProxy(), "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/pg/login");
            assertIdentity(apisix.send(withCookies("/pg/data", jar)), runner, "fiona");

            proxy.cut();
            timed503(apisix, runner, withCookies("/pg/data", jar));
            timed503(apisix, runner, ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY));
            timed503(apisix, runner, withCookies("/pg/data", jar));

            proxy.restore();
            Exchange after = apisix.send(withCookies("/pg/data", jar));
            assertEquals(200, after.status(), "the session written before the outage\n" + why(after, runner));
            assertIdentity(after, runner, "fiona");
            assertTrue(runner.logs().contains("session storage postgres failed"), runner.logs());
        }
    }

    @Test
    void databaseHangingThenBack() throws Exception {
        try (RunnerProcess runner = PostgresStorageIT.startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", viaProxy(), "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/pg/login");

            proxy.blackhole();
            timed503(apisix, runner, withCookies("/pg/data", jar));
            timed503(apisix, runner, withCookies("/pg/data", jar));

            proxy.restore();
            // a pooled connection torn by the hang may fail one more request before it is replaced
            Exchange after = null;
            for (int i = 0; i < 5; i++) {
                after = apisix.send(withCookies("/pg/data", jar));
                if (after.status() == 200) {
                    break;
                }
                E2e.sleepSeconds(0.5);
            }
            assertEquals(200, after.status(), why(after, runner));
            assertIdentity(after, runner, "fiona");
        }
    }

    @Test
    void runnerStartedWhileTheDatabaseIsDownRecoversWhenItComesUp() throws Exception {
        proxy.cut();
        try (RunnerProcess runner = PostgresStorageIT.startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", viaProxy(), "reject_status", 401));
            long t0 = System.nanoTime();
            Exchange down = apisix.send(ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(503, down.status(), "the conf cannot be prepared (migration needs the database)\n" + why(down, runner));
            assertTrue(seconds < BOUND_SECONDS, "answered after " + seconds + " s");
            assertTrue(runner.isAlive());

            proxy.restore();
            CookieJar jar = E2e.login(apisix, runner, "/pg/login");
            assertIdentity(apisix.send(withCookies("/pg/data", jar)), runner, "fiona");
            assertEquals(1, PostgresStorageIT.sessionRows(database));
        }
    }
}
