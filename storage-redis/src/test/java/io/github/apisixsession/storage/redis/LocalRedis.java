package io.github.apisixsession.storage.redis;

import io.github.apisixsession.testing.SharedRedis;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import redis.clients.jedis.JedisPooled;

/**
 * Settings and clients for the Redis the storage tests use, {@link SharedRedis}
 * ({@code REDIS_HOST}/{@code REDIS_PORT}, default the server on 127.0.0.1:6379 that
 * {@code .ci/run} starts); tests that use it say so with {@code @RequiresService(SharedRedis.class)}.
 *
 * <p>No Testcontainers: the machines this project runs on have no Docker engine, and a code path
 * that never runs here is not worth carrying; the server binaries are Debian's.
 *
 * <p>The server is shared: every test works under its own random key prefix and never flushes.
 */
final class LocalRedis {

    static final String HOST = SharedRedis.HOST;
    static final int PORT = SharedRedis.PORT;

    private LocalRedis() {
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
