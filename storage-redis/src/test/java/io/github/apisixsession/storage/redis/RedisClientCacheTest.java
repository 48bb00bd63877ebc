package io.github.apisixsession.storage.redis;

import static io.github.apisixsession.storage.redis.CacheProbe.awaitTracking;
import static io.github.apisixsession.storage.redis.CacheProbe.cache;
import static io.github.apisixsession.storage.redis.CacheProbe.calls;
import static io.github.apisixsession.storage.redis.CacheProbe.eventually;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionStorage.Renewal;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * {@code client_cache} against a {@code redis-server} of the test's own: reads are served locally
 * and stay coherent with what other clients (other runners) do, and nothing survives a lost
 * invalidation connection, a hung or restarted server, or the key's TTL. Two storages on one
 * server play two runners; a raw connection plays an operator.
 */
@RequiresService(RedisBinaries.class)
class RedisClientCacheTest {

    private static final Duration HOUR = Duration.ofHours(1);

    private RedisProcess redis;
    private Jedis admin;
    private final List<RedisSessionStorage> storages = new ArrayList<>();

    @AfterEach
    void stop() {
        storages.forEach(RedisSessionStorage::close);
        if (admin != null) {
            admin.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private void launch(String... args) throws Exception {
        redis = RedisProcess.launch(args);
        admin = new Jedis("127.0.0.1", redis.port());
    }

    private RedisSessionStorage storage(Object... kv) {
        List<Object> all = new ArrayList<>(List.of("port", redis.port(), "prefix", "cc", "client_cache_heartbeat", 100,
                "read_timeout", 1000));
        all.addAll(List.of(kv));
        RedisSessionStorage s = new RedisSessionStorage(LocalRedis.settings(all.toArray()), Clock.systemUTC());
        storages.add(s);
        return s;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsAreServedLocallyWithoutReachingTheServer() throws Exception {
        launch();
        RedisSessionStorage a = storage();
        a.set("session:a", bytes("v"), HOUR);
        awaitTracking(a);
        assertEquals("v", new String(a.get("session:a").orElseThrow(), StandardCharsets.UTF_8));
        long gets = calls(admin, "get");
        for (int i = 0; i < 20; i++) {
            assertArrayEquals(bytes("v"), a.get("session:a").orElseThrow());
        }
        assertEquals(gets, calls(admin, "get"), "no GET reached the server");
        assertTrue(a.clientCacheStatistics().hits() >= 20, a.clientCacheStatistics().toString());
    }

    @Test
    void writesDeletesAndRenewalsByAnotherRunnerAreSeen() throws Exception {
        launch();
        RedisSessionStorage a = storage();
        RedisSessionStorage b = storage();
        awaitTracking(a);
        for (String k : List.of("session:w", "session:d", "session:old")) {
            b.set(k, bytes("v1"), HOUR);
            cache(a, k);
        }

        b.set("session:w", bytes("v2"), HOUR);
        eventually(() -> a.get("session:w"), "v2"::equals, "another runner's write is seen");

        b.delete("session:d"); // a logout
        eventually(() -> a.get("session:d"), Objects::isNull, "another runner's logout is seen");

        // a renewal: the old key is cut to stale_ttl, which the cached copy must honour
        b.set("session:new", bytes("v3"), HOUR, "session:old", Duration.ofMillis(300));
        eventually(() -> a.get("session:old"), Objects::isNull, "the old key is gone for this runner after stale_ttl");
        assertTrue(a.clientCacheStatistics().invalidations() >= 3, a.clientCacheStatistics().toString());
    }

    @Test
    void anOperatorsFlushIsSeen() throws Exception {
        launch();
        RedisSessionStorage a = storage();
        awaitTracking(a);
        a.set("session:a", bytes("v"), HOUR);
        cache(a, "session:a");
        admin.flushDB();
        eventually(() -> a.get("session:a"), Objects::isNull, "FLUSHDB empties the cache");
    }

    @Test
    void thisRunnersOwnWritesAreSeenAtOnce() throws Exception {
        launch();
        RedisSessionStorage a = storage();
        awaitTracking(a);
        for (int i = 0; i < 50; i++) {
            a.set("session:a", bytes("v" + i), HOUR);
            cache(a, "session:a");
            a.set("session:a", bytes("w" + i), HOUR);
            assertArrayEquals(bytes("w" + i), a.get("session:a").orElseThrow(), "read right after this runner's write");
            a.delete("session:a");
            assertTrue(a.get("session:a").isEmpty(), "read right after this runner's delete");
        }
    }

    @Test
    void anEntryNeverOutlivesTheKeysTtl() throws Exception {
        launch("--enable-debug-command", "yes");
        // the server keeps expired keys until something touches them, so it sends no invalidation
        assertEquals("+OK", redis.command("DEBUG", "SET-ACTIVE-EXPIRE", "0"));
        RedisSessionStorage a = storage();
        awaitTracking(a);
        a.set("session:short", bytes("v"), Duration.ofMillis(600));
        cache(a, "session:short");
        eventually(() -> a.get("session:short"), Objects::isNull, "gone once the TTL read with it has run out");
    }

    @Test
    void aLostInvalidationConnectionDropsTheCacheAndReadsGoToRedisUntilTrackingIsBack() throws Exception {
        launch();
        RedisSessionStorage a = storage();
        awaitTracking(a);
        a.set("session:a", bytes("v1"), HOUR);
        cache(a, "session:a");
        try (Jedis op = new Jedis("127.0.0.1", redis.port())) {
            op.aclSetUser("admin", "on", ">admin-pw", "~*", "&*", "+@all");
            op.auth("admin", "admin-pw");
            // tracking cannot come back while this holds
            op.aclSetUser("default", "-client|tracking");
            long resets = a.clientCacheStatistics().resets();
            assertEquals(1, CacheProbe.killTrackingConnections(op));
            op.set("cc:session:a", "v2"); // nobody tells this runner
            eventually(() -> a.get("session:a"), "v2"::equals, "the cache is dropped with its connection");
            CacheProbe.awaitReset(a, resets, "the cache is dropped with its connection");

            long gets = calls(op, "get");
            long hits = a.clientCacheStatistics().hits();
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(bytes("v2"), a.get("session:a").orElseThrow());
            }
            assertEquals(gets + 5, calls(op, "get"), "every read goes to Redis while tracking is down");
            assertEquals(hits, a.clientCacheStatistics().hits());
            assertFalse(a.invalidationFeed().live());

            op.aclSetUser("default", "+client|tracking");
        }
        awaitTracking(a);
        cache(a, "session:a");
    }

    @Test
    void aHungServerStopsTheCacheWithinTheLease() throws Exception {
        launch();
        RedisSessionStorage a = storage("read_timeout", 500, "connect_timeout", 500, "pool_wait", 500);
        awaitTracking(a);
        a.set("session:a", bytes("v"), HOUR);
        cache(a, "session:a");
        redis.pause(); // SIGSTOP: the connections stay open, nothing answers
        try {
            eventually(() -> a.get("session:a"), v -> v != null && v.startsWith("StorageException"),
                    "once the heartbeat goes unanswered, reads go to the (hung) server");
        } finally {
            redis.resume();
        }
        eventually(() -> a.get("session:a"), "v"::equals, "works again once the server answers");
        awaitTracking(a);
        cache(a, "session:a");
    }

    @Test
    void aRestartedServerThatLostItsDataIsNotAnsweredFromTheCache() throws Exception {
        launch(); // no persistence
        RedisSessionStorage a = storage();
        awaitTracking(a);
        a.set("session:a", bytes("v"), HOUR);
        cache(a, "session:a");
        redis.stop();
        redis.start();
        eventually(() -> a.get("session:a"), Objects::isNull, "the key the restart lost is not served");
        awaitTracking(a);
        a.set("session:a", bytes("again"), HOUR);
        cache(a, "session:a");
    }

    @Test
    void aServerThatRefusesTrackingLeavesReadsWorking() throws Exception {
        launch();
        admin.aclSetUser("app", "on", ">app-pw", "~*", "+@all", "-client|tracking");
        RedisSessionStorage a = storage("username", "app", "password", "app-pw");
        a.set("session:a", bytes("v"), HOUR);
        long gets = calls(admin, "get");
        for (int i = 0; i < 10; i++) {
            assertArrayEquals(bytes("v"), a.get("session:a").orElseThrow());
            RedisProcess.sleep(20);
        }
        assertEquals(gets + 10, calls(admin, "get"), "every read went to Redis");
        ClientCacheStatistics st = a.clientCacheStatistics();
        assertTrue(!st.tracking() && st.hits() == 0 && st.bypassed() == 10, st.toString());
    }

    @Test
    void theCountersArePublishedOverJmx() throws Exception {
        launch();
        RedisSessionStorage a = storage("prefix", "jmx-probe");
        awaitTracking(a);
        a.set("session:a", bytes("v"), HOUR);
        cache(a, "session:a");
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName found = null;
        for (ObjectName n : server.queryNames(new ObjectName("io.github.apisixsession:type=RedisClientCache,*"), null)) {
            if (String.valueOf(server.getAttribute(n, "Storage")).endsWith("prefix jmx-probe")) {
                found = n;
            }
        }
        assertTrue(found != null, "published");
        assertEquals(a.clientCacheStatistics().hits(), server.getAttribute(found, "Hits"));
        assertEquals(true, server.getAttribute(found, "Tracking"));
        a.close();
        assertFalse(server.isRegistered(found), "withdrawn when the storage closes");
    }

    @Test
    void theInvalidationConnectionCountsAgainstPoolSize() throws Exception {
        launch();
        RedisSessionStorage a = storage("pool_size", 3);
        awaitTracking(a);
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Thread t = new Thread(() -> {
                for (int j = 0; j < 50; j++) {
                    try {
                        a.set("session:" + j, bytes("v"), HOUR);
                    } catch (Exception e) {
                        // pool_wait may run out under this load; only the connection count matters
                    }
                }
            });
            t.start();
            readers.add(t);
        }
        for (Thread t : readers) {
            t.join();
        }
        long connections = admin.clientList().lines().filter(l -> !l.isBlank()).count() - 1;
        assertTrue(connections <= 3, "connections: " + admin.clientList());
        assertEquals(1, admin.clientList().lines()
                .filter(l -> l.contains("name=" + RedisClients.TRACKING_CLIENT_NAME + " ")).count());
        assertFalse(LocalRedis.settings("pool_size", 1).clientCache().enabled(),
                "pool_size 1 leaves no room for it: off by default");
    }
}
