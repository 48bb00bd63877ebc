package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.UpstreamResponse;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import redis.clients.jedis.JedisPooled;

/**
 * {@code "storage": "redis"} through the runner jar and the APISIX simulator, against the local
 * Redis (127.0.0.1:6379, or REDIS_HOST/REDIS_PORT): login, cookie-only access, renewal, logout,
 * all checked in Redis too. Each route uses its own random key prefix on the shared server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@RequiresService(SharedRedis.class)
class RedisSessionIT {

    private final String prefix = "e2e-" + UUID.randomUUID();
    private ClockFile clock;
    private RunnerProcess runner;
    private SimulatedApisix apisix;
    private JedisPooled redis;

    @BeforeAll
    void start() {
        redis = new JedisPooled(SharedRedis.HOST, SharedRedis.PORT);
        clock = ClockFile.create();
        runner = E2e.start(E2e.runner().clock(clock));
        apisix = E2e.gateway(runner);
        apisix.route(E2e.apisixRoute("/redis/*", "storage", "redis", "reject_status", 401,
                "redis", redisConf(prefix + "-a")));
        apisix.route(Route.uri("/example/*").keyAuth(KeyAuth.withAnonymous("anon"))
                .postReq(E2e.session(exampleConf()))
                .upstream(req -> UpstreamResponse.json("{\"ok\":true}")));
        apisix.route(E2e.apisixRoute("/roll/*", "storage", "redis", "reject_status", 401, "rolling_timeout", 16,
                "stale_ttl", 1, "redis", redisConf(prefix + "-r")));
    }

    /**
     * The route conf of configs/apisix-redis.yaml, pointed at the test's Redis: no password (the
     * local server has none) and this run's prefix.
     */
    private String exampleConf() {
        try {
            Path yaml = Path.of(System.getProperty("user.dir")).resolveSibling("configs").resolve("apisix-redis.yaml");
            String line = Files.readAllLines(yaml).stream().filter(l -> l.trim().startsWith("value: '"))
                    .findFirst().orElseThrow();
            String json = line.substring(line.indexOf('\'') + 1, line.lastIndexOf('\''));
            @SuppressWarnings("unchecked")
            Map<String, Object> conf = E2e.JSON.readValue(json, Map.class);
            @SuppressWarnings("unchecked")
            Map<String, Object> redisConf = (Map<String, Object>) conf.get("redis");
            assertEquals("$env://REDIS_PASSWORD", redisConf.remove("password"));
            redisConf.put("host", SharedRedis.HOST);
            redisConf.put("port", SharedRedis.PORT);
            redisConf.put("prefix", prefix + "-x");
            return E2e.json(conf);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> redisConf(String prefix) {
        return Map.of("host", SharedRedis.HOST, "port", SharedRedis.PORT, "prefix", prefix);
    }

    @AfterAll
    void stop() {
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
        if (clock != null) {
            clock.close();
        }
        if (redis != null) {
            for (String k : redis.keys(prefix + "-*")) {
                redis.del(k);
            }
            redis.close();
        }
    }

    /** The Redis key of a cookie: [prefix:]session:<base64url SID>, the SID at header bytes 3–35. */
    static String redisKey(String prefix, String cookieValue) {
        byte[] header = Base64.getUrlDecoder().decode(cookieValue);
        byte[] sid = Arrays.copyOfRange(header, 3, 35);
        return prefix + ":session:" + Base64.getUrlEncoder().withoutPadding().encodeToString(sid);
    }

    @Test
    void loginCookieOnlyAccessAndLogout() {
        String p = prefix + "-a";
        CookieJar jar = E2e.login(apisix, runner, "/redis/login");
        String key = redisKey(p, jar.get("session"));
        assertTrue(redis.exists(key), "the session is in Redis under " + key);
        long ttl = redis.ttl(key);
        assertTrue(ttl > 3590 && ttl <= 3600, "stored for rolling_timeout (3600 s), TTL " + ttl);
        assertTrue(redis.get(key).matches("\\[\"[A-Za-z0-9_-]+\"]"), "lua-resty-session's value: " + redis.get(key));
        String cookie = jar.get("session");
        assertTrue(cookie.length() < 120, "the cookie holds only the header: " + cookie.length() + " chars");

        Exchange ex = apisix.send(withCookies("/redis/data", jar));
        assertIdentity(ex, runner, "fiona");

        String oldCookie = jar.cookieHeader();
        Exchange logout = apisix.send(ClientRequest.post("/redis/x?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout, runner));
        SetCookie expired = E2e.sessionSetCookie(logout);
        assertNotNull(expired);
        assertTrue(expired.deletes());
        assertFalse(redis.exists(key), "logout deleted the Redis key");

        Exchange replay = apisix.send(ClientRequest.get("/redis/data").cookie(oldCookie));
        assertEquals(401, replay.status(), "the old cookie is dead\n" + why(replay, runner));
        jar.update(logout.response());
        assertNull(jar.get("session"));
    }

    @Test
    void theExampleRouteConfigWorks() {
        CookieJar jar = E2e.login(apisix, runner, "/example/login");
        assertTrue(redis.exists(redisKey(prefix + "-x", jar.get("session"))));
        assertIdentity(apisix.send(withCookies("/example/data", jar)), runner, "fiona");
    }

    @Test
    void sessionsAreSharedThroughRedisByRunners() throws Exception {
        CookieJar jar = E2e.login(apisix, runner, "/redis/login");
        try (RunnerProcess second = E2e.start(); SimulatedApisix other = E2e.gateway(second)) {
            other.route(E2e.apisixRoute("/redis/*", "storage", "redis", "reject_status", 401,
                    "redis", redisConf(prefix + "-a")));
            assertIdentity(other.send(withCookies("/redis/data", jar)), second, "fiona");
        }
    }

    /**
     * rolling_timeout 16: at 13 whole seconds (more than ceil(0.75 × 16) = 12) of the runner's clock
     * a new id is issued; the old key, which Redis (in its own real time) still keeps for about
     * 16 s, is cut to stale_ttl (1 s).
     */
    @Test
    void renewalWritesANewKeyAndShortensTheOldOne() {
        String p = prefix + "-r";
        long created = E2e.midSecond(clock);
        CookieJar jar = E2e.login(apisix, runner, "/roll/login");
        String oldKey = redisKey(p, jar.get("session"));
        long firstTtl = redis.pttl(oldKey);
        assertTrue(firstTtl > 14_000 && firstTtl <= 16_000, "stored for rolling_timeout: PTTL " + firstTtl);
        String oldCookie = jar.cookieHeader();
        E2e.at(clock, created + 13);

        Exchange ex = apisix.send(withCookies("/roll/data", jar));
        long renewedAt = System.nanoTime();
        long oldTtl = redis.pttl(oldKey);
        assertIdentity(ex, runner, "fiona");
        SetCookie renewed = E2e.sessionSetCookie(ex);
        assertNotNull(renewed, "renewed\n" + why(ex, runner));
        jar.update(ex.response());
        String newKey = redisKey(p, jar.get("session"));
        assertNotEquals(oldKey, newKey);
        // about 16 s were left; stale_ttl cut it to 1 s (-2: already gone, which only the cut explains)
        assertTrue(oldTtl <= 1000, "old key shortened to stale_ttl: PTTL " + oldTtl);
        long newTtl = redis.pttl(newKey);
        assertTrue(newTtl > 10_000, "the new key has the full rolling_timeout: PTTL " + newTtl);

        Exchange old = apisix.send(ClientRequest.get("/roll/data").cookie(oldCookie));
        if (System.nanoTime() - renewedAt < 800_000_000L) {
            assertIdentity(old, runner, "fiona"); // within stale_ttl the old cookie still works
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (redis.exists(oldKey) && System.nanoTime() < deadline) {
            E2e.sleepSeconds(0.1);
        }
        assertFalse(redis.exists(oldKey), "the stale key expired");
        Exchange stale = apisix.send(ClientRequest.get("/roll/data").cookie(oldCookie));
        assertEquals(401, stale.status(), "the old cookie is dead after stale_ttl\n" + why(stale, runner));
        assertIdentity(apisix.send(withCookies("/roll/data", jar)), runner, "fiona");
    }
}
