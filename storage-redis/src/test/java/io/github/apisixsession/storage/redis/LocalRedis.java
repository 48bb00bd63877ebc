package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import redis.clients.jedis.JedisPooled;

/**
 * The Redis the storage tests use: {@code REDIS_HOST}/{@code REDIS_PORT} (default the server on
 * 127.0.0.1:6379 that {@code .ci/run} starts).
 *
 * <p>No Testcontainers: the machines this project runs on have no Docker engine, and a code path
 * that never runs here is not worth carrying; the server binaries are Debian's. When the server
 * is unreachable the test fails under {@code CI=true} and is skipped otherwise.
 *
 * <p>The server is shared: every test works under its own random key prefix and never flushes.
 */
final class LocalRedis {

    static final String HOST = System.getenv().getOrDefault("REDIS_HOST", "127.0.0.1");
    static final int PORT = Integer.parseInt(System.getenv().getOrDefault("REDIS_PORT", "6379"));

    private static Boolean reachable;

    private LocalRedis() {
    }

    /** Fails (CI) or skips (elsewhere) the calling test when the server does not answer. */
    static synchronized void require() {
        if (reachable == null) {
            try (JedisPooled j = new JedisPooled(HOST, PORT)) {
                reachable = "PONG".equals(j.ping());
            } catch (RuntimeException e) {
                reachable = false;
            }
        }
        if (!reachable) {
            String msg = "no Redis at " + HOST + ":" + PORT + " (start one, e.g. bash .ci/run, or set REDIS_HOST/REDIS_PORT)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(msg);
            }
            abort(msg);
        }
    }

    /** Like {@link #require} for tests that start their own {@code redis-server}. */
    static void requireBinaries() {
        if (!RedisProcess.available()) {
            String msg = "redis-server is not installed (apt-get install redis-server)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(msg);
            }
            abort(msg);
        }
    }

    static String uniquePrefix() {
        return "test-" + UUID.randomUUID();
    }

    static Map<String, Object> config(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        m.put("host", HOST);
        m.put("port", PORT);
        // generous: these tests check behaviour, not timeouts, and CI machines stall under load
        m.put("connect_timeout", 3000);
        m.put("read_timeout", 3000);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static RedisSessionStorage storage(Object... kv) {
        return new RedisSessionStorage(settings(kv), Clock.systemUTC());
    }

    static RedisSettings settings(Object... kv) {
        return RedisSettings.parse(io.github.apisixsession.storage.StorageConfig.of("redis", config(kv)), name -> null);
    }

    /** A raw client to inspect what the storage wrote. */
    static JedisPooled raw() {
        return new JedisPooled(HOST, PORT);
    }
}
