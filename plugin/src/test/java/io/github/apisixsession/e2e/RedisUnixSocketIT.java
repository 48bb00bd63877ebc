package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.Map;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * {@code "redis": {"socket": ...}} through the runner jar as shipped: the jar keeps junixsocket's
 * JNI library for Linux x86_64 and aarch64 only, and this proves the one for this machine is there
 * and loads. The server also listens on TCP, which the test uses to look at the keys.
 */
class RedisUnixSocketIT {

    @Test
    void sessionsInRedisOverAUnixSocket() throws Exception {
        try (TestRedisServer redis = TestRedisServer.startWithUnixSocket("redis-unix");
                RunnerProcess runner = E2e.start();
                SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/unix/*", "storage", "redis", "reject_status", 401,
                    "redis", Map.of("socket", redis.unixSocket().toString(), "prefix", "unix")));
            CookieJar jar = E2e.login(apisix, runner, "/unix/login");
            try (Jedis j = redis.jedis()) {
                String key = RedisSessionIT.redisKey("unix", jar.get("session"));
                assertTrue(j.exists(key), "the session is in Redis under " + key);
            }
            assertIdentity(apisix.send(withCookies("/unix/data", jar)), runner, "fiona");
            E2e.assertNoRunnerErrors(runner);
        }
    }
}
