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
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;

/**
 * Redis down and back, through the runner: while a test-owned {@code redis-server} is paused
 * (SIGSTOP) or stopped, requests get the route's {@code storage_error_status} (503) with the
 * runner's JSON reason (not the gateway's own 503 after its timeout), the runner's log shows what
 * ended the calls (the read timeout for a paused Redis, a refused connection for a stopped one; how
 * long they took is not asserted), the runner stays up, and once Redis is back the same cookie
 * works again: nothing written before the outage is lost (the stop/restart keeps its append-only
 * file).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@RequiresService(RedisBinaries.class)
class RedisOutageIT {
    /** Long enough that a loaded machine does not time out a healthy Redis. */
    private static final int TIMEOUT_MS = 800;

    private TestRedisServer redis;
    private RunnerProcess runner;
    private SimulatedApisix apisix;
    private CookieJar jar;

    @BeforeAll
    void start() throws Exception {
        redis = TestRedisServer.start("redis-outage-it");
        runner = E2e.start();
        apisix = E2e.gateway(runner);
        apisix.route(E2e.apisixRoute("/app/*", "storage", "redis", "reject_status", 401,
                "redis", Map.of("port", redis.port, "prefix", "outage", "connect_timeout", TIMEOUT_MS,
                        "read_timeout", TIMEOUT_MS, "pool_wait", TIMEOUT_MS,
                        // every read reaches Redis: the client cache may answer a session it holds until it
                        // sees Redis go (RedisOutageTest, RedisClientCacheTest cover that)
                        "client_cache", false)));
        jar = E2e.login(apisix, runner, "/app/login");
    }

    @AfterAll
    void stop() throws Exception {
        E2e.close(apisix, runner);
        if (redis != null) {
            redis.close();
        }
    }

    /** Each request during the outage: the runner's own 503 with a JSON reason, the upstream not called. */
    private void assertUnavailable(ClientRequest request) {
        Exchange ex = apisix.send(request);
        assertEquals(503, ex.status(), why(ex, runner));
        assertEquals("{\"message\":\"session storage unavailable\"}", ex.body(), why(ex, runner));
        assertTrue(ex.header("Content-Type").startsWith("application/json"), why(ex, runner));
        assertTrue(!ex.upstreamCalled(), "the upstream is not called");
    }

    /** The runner's log since {@code mark} names {@code cause} as what ended the storage calls. */
    private void assertEndedBy(int mark, String cause) {
        String since = runner.logs().substring(mark);
        assertTrue(since.contains(cause), "the calls were ended by " + cause + "\n" + since);
    }

    @Test
    @Order(1)
    void pausedRedisAnswers503AndTheSessionWorksAgainAfter() throws Exception {
        assertIdentity(apisix.send(withCookies("/app/data", jar)), runner, "fiona");
        int mark = runner.logs().length();
        redis.signal("STOP");
        try {
            for (int i = 0; i < 3; i++) {
                assertUnavailable(withCookies("/app/data", jar));
            }
            assertUnavailable(ClientRequest.get("/app/login").apikey(E2e.FIONA_KEY));
            assertTrue(runner.isAlive(), "the runner stays up");
            assertEndedBy(mark, "SocketTimeoutException: Read timed out");
        } finally {
            redis.signal("CONT");
        }
        Exchange back = apisix.send(withCookies("/app/data", jar));
        assertIdentity(back, runner, "fiona");
        jar.update(back.response());
    }

    @Test
    @Order(2)
    void stoppedRedisAnswers503AndARestartedOneKeepsTheSessions() throws Exception {
        try (Jedis j = redis.jedis()) {
            j.shutdown(); // writes nothing more: appendfsync always already has every session on disk
        } catch (RuntimeException e) {
            // the connection drops as it exits
        }
        redis.awaitExit();
        int mark = runner.logs().length();
        for (int i = 0; i < 3; i++) {
            assertUnavailable(withCookies("/app/data", jar));
        }
        assertTrue(runner.isAlive(), "the runner stays up");
        assertEndedBy(mark, "Failed to connect");

        redis.start();
        Exchange back = apisix.send(withCookies("/app/data", jar));
        assertIdentity(back, runner, "fiona");
        assertTrue(runner.logs().contains("reachable again"), "the runner logged the recovery\n" + runner.logs());
        List<String> lines = runner.logs().lines().filter(l -> l.contains("outage:session:")).toList();
        assertEquals(List.of(), lines, "no session key in the logs");
    }
}
