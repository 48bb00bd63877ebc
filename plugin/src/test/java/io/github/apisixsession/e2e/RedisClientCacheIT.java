package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.e2e.PropagationDelays.Seen;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * <p>The invalidation delay (from the answer to the logout, or the end of the revoke command, to
 * the first refusal by another runner polling with the old cookie) is printed in one
 * {@code INVALIDATION …} line per kind; the test asserts only that every runner refuses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClientCacheIT {
    private static final int RUNNERS = 3;
    private static final int LOGOUT_ROUNDS = 50;
    /** Generous: a busy CI machine; a correct cache refuses within milliseconds. */
    private static final long DEADLINE_MS = 15_000;

    private final String prefix = "cc-" + UUID.randomUUID();
    private TestRedisServer redis;
    private final List<RunnerProcess> runners = new ArrayList<>();
    private final List<SimulatedApisix> gateways = new ArrayList<>();
    /** The runners' shared time: the renewal test moves it instead of waiting. */
    private ClockFile clock;
    private Path dir;

    @BeforeAll
    void start() throws Exception {
        redis = TestRedisServer.start("redis-cache-it");
        dir = Files.createTempDirectory("redis-cache-it-");
        clock = ClockFile.create();
        for (int i = 0; i < RUNNERS; i++) {
            RunnerProcess runner = E2e.start(E2e.runner().clock(clock));
            SimulatedApisix gateway = E2e.gateway(runner);
            gateway.route(E2e.apisixRoute("/app/*", appConf()));
            // the first runner renews after 12 s; on the others a session lives an hour
            gateway.route(E2e.apisixRoute("/roll/*", "storage", "redis", "reject_status", 401, "stale_ttl", 1,
                    "rolling_timeout", i == 0 ? 16 : 3600, "redis", redisConf()));
            runners.add(runner);
            gateways.add(gateway);
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
        for (int i = 0; i < gateways.size(); i++) {
            E2e.close(gateways.get(i), runners.get(i));
        }
        if (redis != null) {
            redis.close();
        }
        if (clock != null) {
            clock.close();
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
        return gateways.get(runner).send(ClientRequest.get(path).cookie(cookie));
    }

    /** Sends {@code cookie} to {@code runner} until a request is answered without a GET at Redis. */
    private void warm(int runner, String path, String cookie) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (true) {
            long before = gets();
            Exchange ex = get(runner, path, cookie);
            assertEquals(200, ex.status(), why(ex, runners.get(runner)));
            if (gets() == before) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "runner " + runner + " never answered from its cache");
            E2e.sleepSeconds(0.01);
        }
    }

    /** Polls {@code runner} with {@code cookie} until it answers {@code status}. */
    private Seen awaitStatus(int runner, String path, String cookie, int status) {
        return PropagationDelays.poll(() -> get(runner, path, cookie), status, DEADLINE_MS,
                ex -> new AssertionError("runner " + runner + " still answers " + ex.status() + ", not " + status
                        + "\n" + why(ex, runners.get(runner))));
    }

    private static String summary(String what, List<Double> delaysMs) {
        return PropagationDelays.summary("INVALIDATION", what, delaysMs);
    }

    @Test
    @Order(1)
    void aSessionIsAnsweredWithoutReadingRedisOnEveryRunner() {
        CookieJar jar = E2e.login(gateways.get(0), runners.get(0), "/app/login");
        String cookie = jar.cookieHeader();
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", cookie);
        }
        long before = gets();
        for (int i = 0; i < 20; i++) {
            for (int r = 0; r < RUNNERS; r++) {
                E2e.assertIdentity(get(r, "/app/data", cookie), runners.get(r), "fiona");
            }
        }
        assertEquals(before, gets(), "60 requests on 3 runners, no GET at Redis");
    }

    @Test
    @Order(2)
    void aLogoutOnOneRunnerIsSeenByTheOthers() throws Exception {
        List<Double> answered = new ArrayList<>();
        List<Double> sent = new ArrayList<>();
        ExecutorService pollers = Executors.newFixedThreadPool(RUNNERS - 1);
        try {
            logoutRounds(pollers, answered, sent);
        } finally {
            pollers.shutdownNow();
        }
        System.out.println(summary("logout (to the refusal's answer)", answered));
        System.out.println(summary("logout (to the sending of the request refused)", sent));
    }

    /**
     * Each round logs in on one runner, has the others answer the session from their caches, then
     * logs out and times how long the others keep accepting the old cookie.
     */
    private void logoutRounds(ExecutorService pollers, List<Double> answered, List<Double> sent) throws Exception {
        for (int round = 0; round < LOGOUT_ROUNDS; round++) {
            int origin = round % RUNNERS;
            CookieJar jar = E2e.login(gateways.get(origin), runners.get(origin), "/app/login");
            String cookie = jar.cookieHeader();
            List<Integer> others = new ArrayList<>();
            for (int r = 0; r < RUNNERS; r++) {
                if (r != origin) {
                    warm(r, "/app/data", cookie);
                    others.add(r);
                }
            }
            List<Future<Seen>> refused = new ArrayList<>();
            for (int r : others) {
                refused.add(pollers.submit(() -> awaitStatus(r, "/app/data", cookie, 401)));
            }
            Exchange logout = gateways.get(origin).send(ClientRequest.post("/app/x?session_logout").cookie(cookie));
            long loggedOut = System.nanoTime();
            assertEquals(200, logout.status(), why(logout, runners.get(origin)));
            for (Future<Seen> f : refused) {
                Seen at = f.get(DEADLINE_MS * 2, TimeUnit.MILLISECONDS);
                answered.add(Math.max(0, at.answered() - loggedOut) / 1e6);
                sent.add(Math.max(0, at.sent() - loggedOut) / 1e6);
            }
        }
    }

    @Test
    @Order(3)
    void sessionsRevokeIsSeenByEveryRunner() throws Exception {
        List<String> cookies = new ArrayList<>();
        for (int origin = 0; origin < RUNNERS; origin++) {
            cookies.add(E2e.login(gateways.get(origin), runners.get(origin), "/app/login").cookieHeader());
        }
        for (String cookie : cookies) {
            for (int r = 0; r < RUNNERS; r++) {
                warm(r, "/app/data", cookie);
            }
        }
        Path conf = dir.resolve("route.json");
        Files.writeString(conf, E2e.conf(appConf()));
        Process cli = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                clock.jvmArg(), "-jar",
                System.getProperty("runnerJar"), "sessions", "revoke", "--subject", "fiona", "--config", conf.toString())
                .redirectErrorStream(true).start();
        String out = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(cli.waitFor(90, TimeUnit.SECONDS) && cli.exitValue() == 0, "sessions revoke: " + out);
        long revoked = System.nanoTime();
        List<Double> delays = new ArrayList<>();
        for (String cookie : cookies) {
            for (int r = 0; r < RUNNERS; r++) {
                delays.add(Math.max(0, awaitStatus(r, "/app/data", cookie, 401).answered() - revoked) / 1e6);
            }
        }
        System.out.println(summary("sessions revoke (polled one after another)", delays));
    }

    /**
     * The second runner logs in with a one-hour session; at 13 s the first runner (rolling_timeout
     * 16) renews it, cutting the old key to stale_ttl (1 s). The other runners, which had the old
     * session in their caches for an hour, refuse it once the old key is gone.
     */
    @Test
    @Order(4)
    void aRenewalOnOneRunnerEndsTheOldSessionOnTheOthers() {
        CookieJar jar = E2e.login(gateways.get(1), runners.get(1), "/roll/login");
        String old = jar.cookieHeader();
        warm(1, "/roll/data", old);
        warm(2, "/roll/data", old);
        clock.advance(Duration.ofSeconds(13)); // the runners' time: Redis keeps its TTLs in real time

        Exchange renewal = gateways.get(0).send(withCookies("/roll/data", jar));
        E2e.assertIdentity(renewal, runners.get(0), "fiona");
        assertNotNull(E2e.sessionSetCookie(renewal), "renewed\n" + why(renewal, runners.get(0)));
        jar.update(renewal.response());
        assertNotEquals(old, jar.cookieHeader());

        awaitStatus(1, "/roll/data", old, 401);
        awaitStatus(2, "/roll/data", old, 401);
        E2e.assertIdentity(gateways.get(2).send(withCookies("/roll/data", jar)), runners.get(2), "fiona");
    }

    @Test
    @Order(5)
    void aHungRedisStopsTheCachesOnceTheHeartbeatGoesUnanswered() throws Exception {
        String cookie = E2e.login(gateways.get(0), runners.get(0), "/app/login").cookieHeader();
        warm(1, "/app/data", cookie);
        redis.signal("STOP");
        try {
            awaitStatus(1, "/app/data", cookie, 503);
        } finally {
            redis.signal("CONT");
        }
        awaitStatus(1, "/app/data", cookie, 200);
        warm(1, "/app/data", cookie);
    }

    @Test
    @Order(6)
    void aRestartThatLostTheDataLeavesNoStaleSessionInAnyRunner() throws Exception {
        String cookie = E2e.login(gateways.get(0), runners.get(0), "/app/login").cookieHeader();
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
            awaitStatus(r, "/app/data", cookie, 401);
        }
        String fresh = E2e.login(gateways.get(0), runners.get(0), "/app/login").cookieHeader();
        for (int r = 0; r < RUNNERS; r++) {
            warm(r, "/app/data", fresh);
        }
    }
}
