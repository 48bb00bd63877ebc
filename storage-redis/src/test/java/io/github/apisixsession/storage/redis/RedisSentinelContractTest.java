package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
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

    @BeforeEach
    void open() {
        StorageConfig config = StorageConfig.of("redis", Map.of(
                "sentinels", List.of(Map.of("host", "127.0.0.1", "port", topology.sentinel.port())),
                "master", "sessions", "prefix", "sn", "connect_timeout", 3000, "read_timeout", 3000));
        storage = (RedisSessionStorage) new RedisSessionStorageProvider().create(config, StorageContext.system());
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

    /** Last: it swaps the master and replica roles. */
    @Test
    @Order(Integer.MAX_VALUE)
    void sessionsSurviveAFailover() throws Exception {
        byte[] v = "before".getBytes(StandardCharsets.UTF_8);
        storage.set(key("session:a"), v, Duration.ofHours(1));
        try (redis.clients.jedis.Jedis master = new redis.clients.jedis.Jedis("127.0.0.1", topology.master.port())) {
            assertEquals(1, master.waitReplicas(1, 5000), "replicated before the failover");
        }
        String before = masterPort();
        topology.sentinel.cli("SENTINEL", "FAILOVER", "sessions");

        long deadline = System.nanoTime() + 30_000_000_000L;
        while (masterPort().equals(before) && System.nanoTime() < deadline) {
            RedisProcess.sleep(100);
        }
        assertNotEquals(before, masterPort(), "the sentinel promoted the replica");
        StorageException last = null;
        while (System.nanoTime() < deadline) {
            try {
                storage.set(key("session:b"), "after".getBytes(StandardCharsets.UTF_8), Duration.ofHours(1));
                last = null;
                break;
            } catch (StorageException e) {
                last = e; // READONLY from the demoted master until the client follows the switch
                RedisProcess.sleep(100);
            }
        }
        if (last != null) {
            throw last;
        }
        assertArrayEquals(v, storage.get(key("session:a")).orElseThrow(), "a session written before the failover");
        assertArrayEquals("after".getBytes(StandardCharsets.UTF_8), storage.get(key("session:b")).orElseThrow());
    }

    private static String masterPort() throws Exception {
        String out = topology.sentinel.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "sessions");
        return out.trim().split("\\s+")[1];
    }
}
