package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many distinct storage configs over time (routes edited, one config per route): each PostgreSQL
 * config has its own pool (with idle connections), cleanup thread and pool housekeeper. Once the
 * conf cache dropped a route and no request uses it, its storage must close, or a runner would
 * collect pools until the database refuses connections. The runner keeps 10 confs and closes
 * storages idle for 1 s; 160 routes with distinct {@code query_timeout}s are used in waves of 16,
 * with a collection in between (jcmd GC.run, as the JVM would do by itself in time).
 */
@RequiresService(SharedPostgres.class)
class HostileStorageConfigsIT {
    private static final int WAVES = 10;
    private static final int PER_WAVE = 16;
    private static final int CAPACITY = 10;
    /**
     * Two connections per storage: its pool (pool_size 1) and its shared-state feed (LISTEN, issue
     * 13). Without closing, each wave adds 32: the second wave would already be over it.
     */
    private static final int BOUND = 2 * (2 * CAPACITY + 4);

    @Test
    void storagesOfDroppedRoutesAreClosedAndTheirConnectionsAndThreadsWithThem() throws Exception {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        String database = pg.createDatabase("configs");
        RunnerProcess.Builder b = E2e.runner().env("SESSION_RUNNER_CONF_CAPACITY", Integer.toString(CAPACITY))
                .env("SESSION_RUNNER_STORAGE_IDLE_CLOSE", "1");
        if (pg.password() != null) {
            b.env(PostgresStorageIT.PASSWORD_VARIABLE, pg.password());
        }
        try (RunnerProcess runner = E2e.start(b); SimulatedApisix apisix = E2e.gateway(runner)) {
            // one route that stays in use all along, and its session
            apisix.route(E2e.apisixRoute("/kept/*", "storage", "postgres", "reject_status", 401,
                    "postgres", PostgresStorageIT.postgresAt(pg.host(), pg.port(), database, "pool_size", 1)));
            CookieJar kept = E2e.login(apisix, runner, "/kept/login");
            int threadsBefore = E2e.threadCount(runner.pid());
            long connectionsBefore = connections(database);

            int maxConnections = 0;
            for (int wave = 0; wave < WAVES; wave++) {
                for (int i = 0; i < PER_WAVE; i++) {
                    int n = wave * PER_WAVE + i;
                    apisix.route(E2e.apisixRoute("/r" + n + "/*", "storage", "postgres", "reject_status", 401,
                            "postgres", PostgresStorageIT.postgresAt(pg.host(), pg.port(), database, "pool_size", 1,
                                    "query_timeout", 2 + n, "migrate", false)));
                    Exchange ex = apisix.send(ClientRequest.get("/r" + n + "/login").apikey(E2e.FIONA_KEY));
                    assertEquals(200, ex.status(), "route " + n + "\n" + why(ex, runner));
                }
                maxConnections = (int) Math.max(maxConnections, connections(database));
                E2e.assertIdentity(apisix.send(E2e.withCookies("/kept/data", kept)), runner, "fiona");
                long open = awaitClosed(runner, database);
                // the kept route and the routes still cached: the conf cache keeps up to 10 by token and
                // 10 by source (for re-sends), and its size-based eviction need not keep the same 10
                assertTrue(open <= BOUND, "wave " + wave + ": " + open + " connections open\n" + runner.logs());
            }
            long connectionsAfter = awaitClosed(runner, database);
            int threadsAfter = E2e.threadCount(runner.pid());
            System.out.println("HOSTILE storage-configs routes=" + WAVES * PER_WAVE + " max-connections-in-a-wave="
                    + maxConnections + " connections before/after=" + connectionsBefore + "/" + connectionsAfter
                    + " threads before/after=" + threadsBefore + "/" + threadsAfter);
            assertTrue(connectionsAfter <= BOUND, "connections after: " + connectionsAfter);
            assertTrue(threadsAfter <= threadsBefore + 2 * BOUND,
                    "threads " + threadsBefore + " -> " + threadsAfter + ": pools and cleanups were closed");
            assertTrue(runner.logs().contains("closed "), "the runner logged the closes\n" + runner.logs());
            // the route in use all along still opens its session, and a dropped route comes back
            E2e.assertIdentity(apisix.send(E2e.withCookies("/kept/data", kept)), runner, "fiona");
            Exchange back = apisix.send(ClientRequest.get("/r0/login").apikey(E2e.FIONA_KEY));
            assertEquals(200, back.status(), why(back, runner));
            E2e.assertNoRunnerErrors(runner);
        }
    }

    /**
     * Asks the runner's JVM for a full collection (dropped confs release their storages), then
     * waits until the idle storages are closed, i.e. at most {@link #BOUND} connections are open,
     * which is the event the test is about; returns the connections open then (more after 30 s).
     */
    private static long awaitClosed(RunnerProcess runner, String database) throws Exception {
        E2e.jcmd(runner.pid(), "GC.run");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long open = connections(database);
        while (open > BOUND && System.nanoTime() < deadline) {
            Thread.sleep(100);
            open = connections(database);
        }
        return open;
    }

    private static long connections(String database) throws Exception {
        return PostgresStorageIT.count(database,
                "select count(*) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()", database);
    }
}
