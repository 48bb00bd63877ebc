package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;

/**
 * The Redis storage's client cache (on by default) across three runner processes, each behind a
 * simulated gateway of its own, sharing a {@code redis-server} of the test's own: a session is
 * answered without reading Redis once a runner has it, and a logout, a {@code sessions revoke} or
 * a renewal done elsewhere is seen by every runner; a hung Redis stops the caches once the
 * heartbeat goes unanswered, and a restart that lost the data leaves no stale session.
 *
 * <p>The invalidation delay is measured and printed by {@link RunnerFleet}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClientCacheIT {
    private static final int RUNNERS = 3;
    private static final int LOGOUT_ROUNDS = 50;

    private final String prefix = "cc-" + UUID.randomUUID();
    private TestRedisServer redis;
    private RunnerFleet fleet;

    @BeforeAll
    void start() throws Exception {
        redis = TestRedisServer.start("redis-cache-it");
        fleet = new RunnerFleet(RUNNERS, clock -> E2e.runner().clock(clock));
        for (int i = 0; i < RUNNERS; i++) {
            SimulatedApisix gateway = fleet.gateways.get(i);
            gateway.route(E2e.apisixRoute("/app/*", appConf()));
            // the first runner renews after 12 s; on the others a session lives an hour
            gateway.route(E2e.apisixRoute("/roll/*", "storage", "redis", "reject_status", 401, "stale_ttl", 1,
                    "rolling_timeout", i == 0 ? 16 : 3600, "redis", redisConf()));
        }
    }

    private Object[] appConf() {
        return new Object[] {"storage", "redis", "reject_status", 401, "store_metadata", true, "redis", redisConf()};
    }

    private Map<String, Object> redisConf() {
        return Map.of("port", redis.port, "prefix", prefix);
    }

    @AfterAll
    void stop() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private long gets() {
        try (Jedis j = redis.jedis()) {
            for (String line : j.info("commandstats").split("\r?\n")) {
                if (line.startsWith("cmdstat_get:calls=")) {
                    String n = line.substring("cmdstat_get:calls=".length());
                    return Long.parseLong(n.substring(0, n.indexOf(',')));
                }
            }
            return 0;
        }
    }

    private Exchange get(int runner, String path, String cookie) {
        return fleet.get(runner, path, cookie);
    }

    /** Sends {@code cookie} to {@code runner} until a request is answered without a GET at Redis. */
    private void warm(int runner, String path, String cookie) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RunnerFleet.DEADLINE_MS);
        while (true) {
            long before = gets();
            Exchange ex = get(runner, path, cookie);
            assertEquals(200, ex.status(), why(ex, fleet.runners.get(runner)));
            if (gets() == before) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "runner " + runner + " never answered from its cache");
            E2e.sleepSeconds(0.01);
        }
    }

    @Test
    @Order(1)
    void aSessionIsAnsweredWithoutReadingRedisOnEveryRunner() {
        String cookie = fleet.login(0, "/app/login");
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", cookie);
        }
        long before = gets();
        for (int i = 0; i < 20; i++) {
            for (int r = 0; r < RUNNERS; r++) {
                E2e.assertIdentity(get(r, "/app/data", cookie), fleet.runners.get(r), "fiona");
            }
        }
        assertEquals(before, gets(), "60 requests on 3 runners, no GET at Redis");
    }

    @Test
    @Order(2)
    void aLogoutOnOneRunnerIsSeenByTheOthers() throws Exception {
        fleet.logoutRounds(LOGOUT_ROUNDS, "/app/", this::warm);
    }

    @Test
    @Order(3)
    void sessionsRevokeIsSeenByEveryRunner() throws Exception {
        fleet.revokeEverywhere("/app/", this::warm, E2e.conf(appConf()), Map.of());
    }

    /** See {@link RunnerFleet#renewalEndsTheOldSessionElsewhere}: the old key is cut to stale_ttl (1 s). */
    @Test
    @Order(4)
    void aRenewalOnOneRunnerEndsTheOldSessionOnTheOthers() {
        fleet.renewalEndsTheOldSessionElsewhere("/roll/", this::warm);
    }

    @Test
    @Order(5)
    void aHungRedisStopsTheCachesOnceTheHeartbeatGoesUnanswered() throws Exception {
        String cookie = fleet.login(0, "/app/login");
        warm(1, "/app/data", cookie);
        redis.signal("STOP");
        try {
            fleet.awaitStatus(1, "/app/data", cookie, 503);
        } finally {
            redis.signal("CONT");
        }
        fleet.awaitStatus(1, "/app/data", cookie, 200);
        warm(1, "/app/data", cookie);
    }

    @Test
    @Order(6)
    void aRestartThatLostTheDataLeavesNoStaleSessionInAnyRunner() throws Exception {
        String cookie = fleet.login(0, "/app/login");
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", cookie);
        }
        try (Jedis j = redis.jedis()) {
            j.shutdown();
        } catch (RuntimeException e) {
            // the connection drops as it exits
        }
        redis.awaitExit();
        redis.wipeData();
        redis.start();
        for (int r = 0; r < RUNNERS; r++) {
            fleet.awaitStatus(r, "/app/data", cookie, 401);
        }
        String fresh = fleet.login(0, "/app/login");
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", fresh);
        }
    }
}
