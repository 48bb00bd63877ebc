package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.csc.CacheConfig;
import redis.clients.jedis.csc.DefaultCache;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Why the storage does not use Jedis 5.2's own client-side cache ({@code redis.clients.jedis.csc}):
 * these probes show what it does against the {@code redis-server} 7.0 this project runs on. They
 * assert Jedis' behaviour, not ours: if a Jedis upgrade makes one fail, revisit the decision
 * (docs/redis.md, "Client-side cache").
 *
 * <ol>
 *   <li>It refuses servers before Redis 7.4 ({@code CacheConnection}'s version check).</li>
 *   <li>With that check bypassed (a {@code Cache} whose {@code compatibilityMode()} is true) it
 *       serves, after a restart that lost the data, the value the server no longer has: an idle
 *       pooled connection's end of stream is not noticed when a cached entry is validated
 *       ({@code Connection.readPushesWithCheckingBroken} only looks at {@code available()}).</li>
 *   <li>It serves a value past the key's TTL when the server has not deleted the key yet (Redis
 *       expires keys lazily and by sampling; here active expiry is off to make that certain):
 *       entries carry no TTL, only invalidation messages remove them.</li>
 * </ol>
 * It also has no constructor for a unix socket with a cache, and invalidations reach an entry only
 * through the pooled connection that read it, when that connection's lock is free
 * ({@code CacheConnection.protocolReadPushes} uses {@code tryLock}).
 */
class JedisBuiltInCacheProbeTest {

    private RedisProcess redis;
    private JedisPooled cached;

    @AfterEach
    void stop() {
        if (cached != null) {
            cached.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /** A cache that skips Jedis' "Redis 7.4 or later" check. */
    private static final class CompatibleCache extends DefaultCache {
        CompatibleCache() {
            super(100);
        }

        @Override
        public boolean compatibilityMode() {
            return true;
        }
    }

    private static JedisClientConfig resp3() {
        return DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build();
    }

    private static boolean atLeast74(String version) {
        String[] v = version.split("\\.");
        int major = Integer.parseInt(v[0]);
        return major > 7 || major == 7 && Integer.parseInt(v[1]) >= 4;
    }

    @RequiresService(SharedRedis.class)
    @Test
    void refusesTheRedisHere() {
        String version;
        try (Jedis raw = new Jedis(LocalRedis.HOST, LocalRedis.PORT)) {
            version = raw.info("server").lines().filter(l -> l.startsWith("redis_version:"))
                    .findFirst().orElseThrow().substring("redis_version:".length()).trim();
        }
        cached = new JedisPooled(new HostAndPort(LocalRedis.HOST, LocalRedis.PORT), resp3(),
                CacheConfig.builder().build());
        if (atLeast74(version)) {
            cached.get(LocalRedis.uniquePrefix());
            return;
        }
        JedisException e = assertThrows(JedisException.class, () -> cached.get(LocalRedis.uniquePrefix()));
        assertTrue(String.valueOf(e.getMessage()).contains("Redis 7.4"), "Redis " + version + ": " + e.getMessage());
    }

    @RequiresService(RedisBinaries.class)
    @Test
    void servesAValueARestartedServerNoLongerHas() throws Exception {
        redis = RedisProcess.launch(); // no persistence: a restart loses every key
        CompatibleCache cache = new CompatibleCache();
        cached = new JedisPooled(new HostAndPort("127.0.0.1", redis.port()), resp3(), cache);
        cached.set("k", "before");
        assertEquals("before", cached.get("k"));
        assertEquals("before", cached.get("k"));
        assertEquals(1, cache.getStats().getHitCount(), "the second read came from the cache");

        redis.stop();
        redis.start();
        try (JedisPooled raw = new JedisPooled("127.0.0.1", redis.port())) {
            assertNull(raw.get("k"), "the restarted server has no such key");
        }
        assertEquals("before", cached.get("k"), "Jedis' cache still answers with the lost value");
    }

    @RequiresService(RedisBinaries.class)
    @Test
    void servesAValuePastItsTtl() throws Exception {
        redis = RedisProcess.launch("--enable-debug-command", "yes");
        assertEquals("+OK", redis.command("DEBUG", "SET-ACTIVE-EXPIRE", "0"));
        CompatibleCache cache = new CompatibleCache();
        cached = new JedisPooled(new HostAndPort("127.0.0.1", redis.port()), resp3(), cache);
        cached.psetex("k", 300, "short-lived");
        assertEquals("short-lived", cached.get("k"));
        Thread.sleep(600);
        // nothing touched the key since it expired, so the server sent no invalidation
        assertEquals("short-lived", cached.get("k"), "Jedis' cache answers past the key's TTL");
        try (JedisPooled raw = new JedisPooled("127.0.0.1", redis.port())) {
            assertNull(raw.get("k"), "the server treats the key as gone");
        }
    }
}
