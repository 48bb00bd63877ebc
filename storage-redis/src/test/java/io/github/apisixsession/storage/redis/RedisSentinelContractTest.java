package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * The contract through Redis Sentinel (one master, one replica, one sentinel), and a failover:
 * sessions written before it are read from the promoted replica.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@RequiresService(RedisBinaries.class)
class RedisSentinelContractTest extends SessionStorageContract {

    private static RedisTopologies.Sentinel topology;
    private RedisSessionStorage storage;

    @BeforeAll
    static void startTopology() throws Exception {
        topology = new RedisTopologies.Sentinel("sessions");
    }

    @AfterAll
    static void stopTopology() {
        if (topology != null) {
            topology.close();
        }
    }

    /** With the client cache on (the default) and tracking the master before each test. */
    @BeforeEach
    void open() throws Exception {
        StorageConfig config = StorageConfig.of("redis", Map.of(
                "sentinels", List.of(Map.of("host", "127.0.0.1", "port", topology.sentinel.port())),
                "master", "sessions", "prefix", "sn", "connect_timeout", 3000, "read_timeout", 3000,
                "client_cache_heartbeat", 100));
        storage = (RedisSessionStorage) new RedisSessionStorageProvider().create(config, StorageContext.system());
        CacheProbe.awaitTracking(storage);
    }

    @AfterEach
    void close() {
        if (storage != null) {
            storage.close();
        }
    }

    @Override
    protected SessionStorage storage() {
        return storage;
    }

    /**
     * A failover drops the cache and tracking moves to the new master: a write made there by
     * another runner is seen, and reads are served locally again afterwards. Swaps the roles.
     */
    @Test
    @Order(Integer.MAX_VALUE - 1)
    void aFailoverDropsTheCacheAndTrackingFollowsTheNewMaster() throws Exception {
        String k = key("session:cached");
        storage.set(k, "v1".getBytes(StandardCharsets.UTF_8), Duration.ofHours(1));
        CacheProbe.cache(storage, k);
        long resets = storage.clientCacheStatistics().resets();
        String before = masterPort();
        assertEquals(List.of(HostAndPort.from("127.0.0.1:" + before)), storage.invalidationFeed().trackedNodes());

        failOver(before);
        int newMaster = Integer.parseInt(masterPort());
        try (Jedis master = new Jedis("127.0.0.1", newMaster)) {
            master.set("sn:" + k, "v2"); // another runner, already on the new master
        }
        CacheProbe.eventually(() -> storage.get(k), "v2"::equals, "the new master's value");
        CacheProbe.awaitReset(storage, resets, "the failover drops the cache");
        CacheProbe.awaitTracking(storage);
        assertEquals(List.of(HostAndPort.from("127.0.0.1:" + newMaster)), storage.invalidationFeed().trackedNodes());
        CacheProbe.cache(storage, k);
    }

    /**
     * Asks the sentinel to fail over and waits until the storage writes to the new master. A write
     * the old master accepts before the client follows the switch (it stays writable until the
     * sentinel demotes it, seconds later, longer in TILT mode on a loaded machine) would be
     * dropped by its resynchronisation, so the probe counts only once the new master holds it.
     */
    private void failOver(String before) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (masterPort().equals(before) && System.nanoTime() < deadline) {
            // NOGOODSLAVE until the sentinel's next INFO has seen the replica online again
            String reply;
            try {
                reply = topology.sentinel.cli("SENTINEL", "FAILOVER", "sessions");
            } catch (IOException e) {
                reply = String.valueOf(e.getMessage()); // an error reply (INPROG, NOGOODSLAVE)
            }
            for (int i = 0; i < 20 && masterPort().equals(before); i++) {
                RedisProcess.sleep(100);
            }
            if (reply.contains("NOGOODSLAVE")) {
                RedisProcess.sleep(900);
            }
        }
        String after = masterPort();
        assertNotEquals(before, after, "the sentinel promoted the replica");
        String probe = key("session:probe");
        try (Jedis master = new Jedis("127.0.0.1", Integer.parseInt(after), 20_000)) {
            while (true) {
                String value = "after";
                try {
                    storage.set(probe, value.getBytes(StandardCharsets.UTF_8), Duration.ofHours(1));
                    if (value.equals(master.get("sn:" + probe))) {
                        return;
                    }
                } catch (StorageException e) {
                    // READONLY from the demoted master until the client follows the switch
                    assertTrue(System.nanoTime() < deadline, "the storage never wrote to the new master: " + e);
                }
                assertTrue(System.nanoTime() < deadline, "the storage never wrote to the new master");
                RedisProcess.sleep(100);
            }
        }
    }

    /** Last: it swaps the master and replica roles. */
    @Test
    @Order(Integer.MAX_VALUE)
    void sessionsSurviveAFailover() throws Exception {
        byte[] v = "before".getBytes(StandardCharsets.UTF_8);
        storage.set(key("session:a"), v, Duration.ofHours(1));
        String before = masterPort();
        // the previous test's old master must be the replica again, so that there is one to promote
        awaitReplica(System.nanoTime() + 180_000_000_000L);
        // replication is asynchronous: a failover before the replica has the entry loses it (a
        // WAIT on a connection of our own would prove nothing: it has written nothing)
        awaitOnReplica(before, "sn:" + key("session:a"));
        failOver(before);
        assertArrayEquals(v, storage.get(key("session:a")).orElseThrow(), "a session written before the failover");
        assertArrayEquals("after".getBytes(StandardCharsets.UTF_8), storage.get(key("session:probe")).orElseThrow());
    }

    /** Waits until the node that is not {@code masterPort} holds {@code redisKey}. */
    private static void awaitOnReplica(String masterPort, String redisKey) throws Exception {
        int replica = topology.master.port() == Integer.parseInt(masterPort) ? topology.replica.port() : topology.master.port();
        long deadline = System.nanoTime() + 30_000_000_000L;
        try (Jedis r = new Jedis("127.0.0.1", replica, 20_000)) {
            while (!r.exists(redisKey)) {
                assertTrue(System.nanoTime() < deadline, "replicated before the failover: " + r.info("replication"));
                RedisProcess.sleep(100);
            }
        }
    }

    private static void awaitReplica(long deadline) throws Exception {
        try (Jedis master = new Jedis("127.0.0.1", Integer.parseInt(masterPort()))) {
            while (!(master.info("replication").contains("slave0:") && master.info("replication").contains("state=online"))) {
                assertTrue(System.nanoTime() < deadline, "the old master became a replica: " + master.info("replication"));
                RedisProcess.sleep(100);
            }
        }
    }

    private static String masterPort() throws Exception {
        String out = topology.sentinel.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "sessions");
        return out.trim().split("\\s+")[1];
    }
}
