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
 * <p>Expected: each request is answered by the runner itself, 503 with the storage error body (a
 * runner stuck past the gateway's timeout would get the gateway's own 503), the runner's log
 * shows what ended the calls (the pool's connect_timeout for a hanging database; how long they
 * took is not asserted), the runner stays up, and the session written before the fault works once
 * the database is back.
 */
@RequiresService(SharedPostgres.class)
class PostgresOutageIT {

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
        // every read reaches the database: the client cache may answer a session it holds until it
        // sees the database go (PostgresOutageTest, PostgresClientCacheTest cover that)
        return PostgresStorageIT.postgresAt(proxy.host(), proxy.port(), database,
                "connect_timeout", 1, "query_timeout", 1, "pool_size", 4, "client_cache", false);
    }

    private static Exchange unavailable(SimulatedApisix apisix, RunnerProcess runner, ClientRequest request) {
        Exchange ex = apisix.send(request);
        assertEquals(503, ex.status(), why(ex, runner));
        assertTrue(ex.body().contains("session storage unavailable"), why(ex, runner));
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
            unavailable(apisix, runner, withCookies("/pg/data", jar));
            unavailable(apisix, runner, ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY));
            unavailable(apisix, runner, withCookies("/pg/data", jar));

            proxy.restore();
            Exchange after = apisix.send(withCookies("/pg/data", jar));
            assertEquals(200, after.status(), "the session written before the outage\n" + why(after, runner));
            assertIdentity(after, runner, "fiona");
            assertTrue(runner.logs().contains("session storage postgres failing: "), runner.logs());
        }
    }

    @Test
    void databaseHangingThenBack() throws Exception {
        try (RunnerProcess runner = PostgresStorageIT.startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", viaProxy(), "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/pg/login");

            int mark = runner.logs().length();
            proxy.blackhole();
            unavailable(apisix, runner, withCookies("/pg/data", jar));
            unavailable(apisix, runner, withCookies("/pg/data", jar));
            String since = runner.logs().substring(mark);
            assertTrue(since.contains("timed out"), "the hanging calls were ended by the timeouts\n" + since);

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
            Exchange down = apisix.send(ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY));
            assertEquals(503, down.status(), "the storage cannot start (migration needs the database)\n" + why(down, runner));
            assertTrue(runner.logs().contains("refused"), "refused at once, nothing waited for\n" + runner.logs());
            assertTrue(runner.isAlive());

            proxy.restore();
            // a request within a second of the failed start fails fast (503, the storage is not
            // tried again for every request of an outage); the next one starts it again
            Exchange login = null;
            for (int i = 0; i < 20; i++) {
                login = apisix.send(ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY));
                if (login.status() != 503) {
                    break;
                }
                E2e.sleepSeconds(0.25);
            }
            assertEquals(200, login.status(), why(login, runner));
            CookieJar jar = new CookieJar().update(login.response());
            assertIdentity(apisix.send(withCookies("/pg/data", jar)), runner, "fiona");
            assertEquals(1, PostgresStorageIT.sessionRows(database));
        }
    }
}
