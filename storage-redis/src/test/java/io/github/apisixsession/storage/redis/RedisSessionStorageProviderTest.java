package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.CircuitBreaker;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class RedisSessionStorageProviderTest {

    private final RedisSessionStorageProvider provider = new RedisSessionStorageProvider();

    private static StorageConfig redis(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return StorageConfig.of("redis", m);
    }

    private static StorageContext env(Map<String, String> vars) {
        return new StorageContext(Clock.systemUTC(), vars::get);
    }

    private void assertRejected(String field, String messagePart, StorageConfig config) {
        StorageConfigException e = assertThrows(StorageConfigException.class, () -> provider.validate(config),
                () -> "accepted " + config);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    }

    @Test
    void isDiscoveredByServiceLoaderAsRedis() {
        List<SessionStorageProvider> found = ServiceLoader.load(SessionStorageProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("redis")).toList();
        assertEquals(1, found.size());
        assertTrue(found.get(0) instanceof RedisSessionStorageProvider);
    }

    @Test
    void defaultsAreLocalhostWithShortTimeouts() {
        RedisSettings s = RedisSettings.parse(StorageConfig.empty("redis"), n -> null);
        assertEquals(RedisSettings.Mode.STANDALONE, s.mode());
        assertEquals("127.0.0.1", s.host());
        assertEquals(6379, s.port());
        assertEquals(0, s.database());
        assertEquals(1000, s.connectTimeoutMillis());
        assertEquals(1000, s.readTimeoutMillis());
        assertEquals(1000, s.poolWaitMillis());
        assertEquals(64, s.poolSize());
        assertEquals(60_000, s.keepaliveTimeoutMillis());
        assertFalse(s.ssl());
        assertTrue(s.sslVerify());
    }

    @Test
    void everyOptionIsRead() {
        RedisSettings s = RedisSettings.parse(redis("host", "redis.internal", "port", 6380, "username", "app",
                "password", "pw", "database", 3, "ssl", true, "ssl_verify", false, "server_name", "redis.example",
                "prefix", "p", "suffix", "s", "connect_timeout", 200, "read_timeout", 300, "keepalive_timeout", 5000,
                "pool_size", 8, "pool_wait", 100), n -> null);
        assertEquals("redis.internal", s.host());
        assertEquals(6380, s.port());
        assertEquals("app", s.username());
        assertEquals("pw", s.password());
        assertEquals(3, s.database());
        assertTrue(s.ssl());
        assertFalse(s.sslVerify());
        assertEquals("redis.example", s.serverName());
        assertEquals("p", s.prefix());
        assertEquals("s", s.suffix());
        assertEquals(200, s.connectTimeoutMillis());
        assertEquals(300, s.readTimeoutMillis());
        assertEquals(5000, s.keepaliveTimeoutMillis());
        assertEquals(8, s.poolSize());
        assertEquals(100, s.poolWaitMillis());
    }

    @Test
    void sentinelAndClusterModes() {
        RedisSettings sentinel = RedisSettings.parse(redis("sentinels", List.of(Map.of("host", "10.0.0.1"),
                Map.of("host", "10.0.0.2", "port", 26380)), "master", "mymaster", "sentinel_username", "s",
                "sentinel_password", "sp", "database", 2), n -> null);
        assertEquals(RedisSettings.Mode.SENTINEL, sentinel.mode());
        assertEquals(List.of(new RedisSettings.Node("10.0.0.1", 26379), new RedisSettings.Node("10.0.0.2", 26380)),
                sentinel.sentinels());
        assertEquals("mymaster", sentinel.master());
        assertEquals("sp", sentinel.sentinelPassword());

        RedisSettings cluster = RedisSettings.parse(redis("nodes", List.of(Map.of("ip", "10.0.0.1", "port", 7000),
                Map.of("host", "10.0.0.2")), "max_redirections", 3), n -> null);
        assertEquals(RedisSettings.Mode.CLUSTER, cluster.mode());
        assertEquals(List.of(new RedisSettings.Node("10.0.0.1", 7000), new RedisSettings.Node("10.0.0.2", 6379)),
                cluster.nodes());
        assertEquals(3, cluster.maxRedirections());
    }

    @Test
    void badConfigsAreRejectedNamingTheField() {
        assertRejected("redis.hots", "allowed", redis("hots", "x"));
        assertRejected("redis.port", "integer", redis("port", "6379"));
        assertRejected("redis.port", "between 1 and 65535", redis("port", 0));
        assertRejected("redis.ssl", "boolean", redis("ssl", "yes"));
        assertRejected("redis.connect_timeout", "between", redis("connect_timeout", 0));
        assertRejected("redis.pool_size", "between", redis("pool_size", 0));
        assertRejected("redis.host", "empty", redis("host", ""));
        assertRejected("redis.master", "required", redis("sentinels", List.of(Map.of("host", "h"))));
        assertRejected("redis.nodes", "not both", redis("sentinels", List.of(Map.of("host", "h")), "master", "m",
                "nodes", List.of(Map.of("host", "h"))));
        assertRejected("redis.sentinels", "at least one", redis("sentinels", List.of(), "master", "m"));
        assertRejected("redis.host", "not used with sentinels", redis("sentinels", List.of(Map.of("host", "h")),
                "master", "m", "host", "h"));
        assertRejected("redis.database", "only database 0", redis("nodes", List.of(Map.of("host", "h")), "database", 1));
        assertRejected("redis.master", "only used with sentinels", redis("master", "m"));
        assertRejected("redis.max_redirections", "only used with nodes", redis("max_redirections", 2));
        assertRejected("redis.nodes[0].host", "required", redis("nodes", List.of(Map.of("port", 7000))));
        assertRejected("redis.nodes[0].name", "allowed", redis("nodes", List.of(Map.of("host", "h", "name", "x"))));
        assertRejected("redis.sentinels[0].ip", "allowed", redis("sentinels", List.of(Map.of("ip", "h")), "master", "m"));
        assertRejected("redis.server_name", "ssl", redis("server_name", "x"));
        assertRejected("redis.ssl", "unix socket", redis("socket", "/tmp/r.sock", "ssl", true));
        assertRejected("redis.username", "password", redis("username", "u"));
        assertRejected("redis.password", "variable name", redis("password", "$env://"));
    }

    @Test
    void theClientCacheIsOnByDefaultAndItsOptionsAreChecked() {
        RedisSettings.ClientCache defaults = RedisSettings.parse(redis(), null).clientCache();
        assertEquals(new RedisSettings.ClientCache(true, 10_000, 16L << 20, 500), defaults);
        assertEquals(63, RedisSettings.parse(redis(), null).dataPoolSize(), "the invalidation connection counts");
        RedisSettings.ClientCache set = RedisSettings.parse(redis("client_cache_max_entries", 50,
                "client_cache_max_bytes", 1 << 20, "client_cache_heartbeat", 250), null).clientCache();
        assertEquals(new RedisSettings.ClientCache(true, 50, 1 << 20, 250), set);
        RedisSettings off = RedisSettings.parse(redis("client_cache", false), null);
        assertFalse(off.clientCache().enabled());
        assertEquals(64, off.dataPoolSize());
        assertFalse(RedisSettings.parse(redis("pool_size", 1), null).clientCache().enabled(), "no room in a pool of 1");

        assertRejected("redis.client_cache", "boolean", redis("client_cache", "yes"));
        assertRejected("redis.client_cache", "pool_size of at least 2", redis("client_cache", true, "pool_size", 1));
        assertRejected("redis.client_cache_max_entries", "between 1 and", redis("client_cache_max_entries", 0));
        assertRejected("redis.client_cache_max_entries", "integer", redis("client_cache_max_entries", 1.5));
        assertRejected("redis.client_cache_max_bytes", "between 65536 and", redis("client_cache_max_bytes", 1024));
        assertRejected("redis.client_cache_heartbeat", "between 50 and 60000", redis("client_cache_heartbeat", 10));
        assertRejected("redis.client_cache_heartbeat", "only used with \"client_cache\": true",
                redis("client_cache", false, "client_cache_heartbeat", 100));
        assertRejected("redis.client_cache_max_entries", "only used with",
                redis("client_cache", false, "client_cache_max_entries", 100));
        assertRejected("redis.client_cache_ttl", "allowed", redis("client_cache_ttl", 5));
    }

    @Test
    void theCircuitBreakerIsOnByDefaultAndItsOptionsAreChecked() {
        assertEquals(new CircuitBreaker.Settings(5, Duration.ofSeconds(1)), RedisSettings.parse(redis(), null)
                .circuitBreaker());
        assertEquals(new CircuitBreaker.Settings(20, Duration.ofMillis(250)), RedisSettings.parse(
                redis("circuit_breaker_failures", 20, "circuit_breaker_open_for", 250), null).circuitBreaker());
        assertFalse(RedisSettings.parse(redis("circuit_breaker_failures", 0), null).circuitBreaker().enabled());

        assertRejected("redis.circuit_breaker_failures", "between 0 and", redis("circuit_breaker_failures", -1));
        assertRejected("redis.circuit_breaker_failures", "integer", redis("circuit_breaker_failures", "5"));
        assertRejected("redis.circuit_breaker_open_for", "between 1 and 600000",
                redis("circuit_breaker_open_for", 0));
        assertRejected("redis.circuit_breaker_open_for", "only used with a \"circuit_breaker_failures\" above 0",
                redis("circuit_breaker_failures", 0, "circuit_breaker_open_for", 500));
        assertRejected("redis.circuit_breaker", "allowed", redis("circuit_breaker", Map.of("failures", 5)));
    }

    @Test
    void passwordsComeFromTheEnvironmentAndNeverShowInMessages() {
        StorageConfig config = redis("password", "$env://REDIS_PW", "sentinels", List.of(Map.of("host", "127.0.0.1",
                "port", 1)), "master", "m", "sentinel_password", "$env://SENTINEL_PW", "connect_timeout", 100);
        provider.validate(config); // no environment needed to validate
        RedisSettings s = RedisSettings.parse(config, Map.of("REDIS_PW", "hunter2", "SENTINEL_PW", "s3cret")::get);
        assertEquals("hunter2", s.password());
        assertEquals("s3cret", s.sentinelPassword());
        assertFalse(s.toString().contains("hunter2") || s.toString().contains("s3cret"), s.toString());
        assertFalse(config.toString().contains("REDIS_PW"), config.toString());

        StorageConfigException unset = assertThrows(StorageConfigException.class,
                () -> provider.create(config, env(Map.of())));
        assertEquals("redis.password", unset.field());

        // the sentinel is unreachable: the storage is created anyway and fails per call
        try (SessionStorage storage = provider.create(config, env(Map.of("REDIS_PW", "hunter2", "SENTINEL_PW", "s3cret")))) {
            StorageException e = assertThrows(StorageException.class, () -> storage.get("session:x"));
            assertFalse(e.getMessage().contains("hunter2") || e.getMessage().contains("s3cret"), e.getMessage());
            assertFalse(e.getMessage().contains("session:x"), e.getMessage());
        }
    }

    @Test
    @RequiresService(SharedRedis.class)
    void wrongPasswordIsAStorageExceptionWithoutThePassword() throws Exception {
        StorageConfig config = StorageConfig.of("redis", LocalRedis.config("password", "not-the-password-42"));
        try (SessionStorage storage = provider.create(config, StorageContext.system())) {
            StorageException e = assertThrows(StorageException.class, () -> storage.get("session:x"));
            assertFalse(e.getMessage().contains("not-the-password-42"), e.getMessage());
        }
    }

    @Test
    @RequiresService(SharedRedis.class)
    void createdStorageWorksAgainstTheLocalRedis() throws Exception {
        StorageConfig config = StorageConfig.of("redis", LocalRedis.config("prefix", LocalRedis.uniquePrefix()));
        provider.validate(config);
        try (SessionStorage s = provider.create(config, StorageContext.system())) {
            s.set("session:k", new byte[] {1, 2}, Duration.ofSeconds(30));
            assertArrayEquals(new byte[] {1, 2}, s.get("session:k").orElseThrow());
            assertTrue(s.supportsMetadata());
            s.delete("session:k");
        }
    }

    @Test
    @RequiresService(RedisBinaries.class)
    void unixSocketAndDatabase() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("redis-sock-");
        String sock = dir.resolve("redis.sock").toString();
        try (RedisProcess redis = RedisProcess.launch("--unixsocket", sock, "--unixsocketperm", "700")) {
            StorageConfig config = redis("socket", sock, "database", 5, "prefix", "u");
            provider.validate(config);
            try (SessionStorage s = provider.create(config, StorageContext.system())) {
                s.set("session:k", "v".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30));
                assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), s.get("session:k").orElseThrow());
                // the client cache's invalidation connection goes through the socket too
                CacheProbe.awaitTracking((RedisSessionStorage) s);
                CacheProbe.cache((RedisSessionStorage) s, "session:k");
            }
            assertTrue(redis.cli("-n", "5", "GET", "u:session:k").contains("v"), "written to database 5");
        } finally {
            RedisProcess.deleteTree(dir);
        }
    }
}
