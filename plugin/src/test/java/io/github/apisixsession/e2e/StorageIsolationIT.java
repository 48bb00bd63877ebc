package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.TcpProxy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A route whose PostgreSQL hangs while its storage is being created (pool, migrations) holds only
 * its own PrepareConf: the PrepareConfs and requests of a memory route and a cookie route go on
 * meanwhile (they waited behind a lock shared by every storage config before).
 */
class StorageIsolationIT {

    @Test
    void aHangingDatabaseDelaysOnlyItsOwnRoute() throws Exception {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        String database = pg.createDatabase("isolation");
        try (TcpProxy proxy = new TcpProxy(pg.host(), pg.port());
             RunnerProcess runner = PostgresStorageIT.startRunner();
             SimulatedApisix apisix = E2e.gateway(runner)
                     .route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres",
                             PostgresStorageIT.postgresAt(proxy.host(), proxy.port(), database, "connect_timeout", 20)))
                     .route(E2e.apisixRoute("/memory/*", "storage", "memory"))
                     .route(Route.uri("/cookie/*").preReq(E2e.session(E2e.conf("identity", "none"))))) {
            proxy.blackhole();
            CompletableFuture<Exchange> hanging = CompletableFuture.supplyAsync(
                    () -> apisix.send(ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY)));
            // the runner is creating the storage: it reached the database, which does not answer
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (proxy.accepted() == 0) {
                assertFalse(hanging.isDone() || System.nanoTime() > deadline, "the runner connects to the database");
                Thread.sleep(10);
            }
            Exchange memory = apisix.send(ClientRequest.get("/memory/login").apikey(E2e.FIONA_KEY));
            assertEquals(200, memory.status(), why(memory, runner));
            Exchange cookie = apisix.send(ClientRequest.get("/cookie/page"));
            assertEquals(200, cookie.status(), why(cookie, runner));
            assertFalse(hanging.isDone(), "the other routes were served while the PostgreSQL route's "
                    + "storage was still being created\n" + runner.logs());

            proxy.restore();
            Exchange pgAfter = hanging.get(120, TimeUnit.SECONDS);
            // the migration run over the black hole fails (503) or completes once restored (200)
            assertEquals(true, pgAfter.status() == 200 || pgAfter.status() == 503, why(pgAfter, runner));
        }
    }
}
