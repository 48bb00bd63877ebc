package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.util.JedisClusterCRC16;

/** The contract against a real three-master Redis Cluster: keys of one session spread over slots. */
@RequiresService(RedisBinaries.class)
class RedisClusterContractTest extends SessionStorageContract {

    private static RedisTopologies.Cluster cluster;
    private SessionStorage storage;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new RedisTopologies.Cluster();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @BeforeEach
    void open() {
        StorageConfig config = StorageConfig.of("redis", Map.of("nodes", cluster.nodesConfig(), "prefix", "cl",
                "connect_timeout", 3000, "read_timeout", 3000));
        RedisSessionStorageProvider provider = new RedisSessionStorageProvider();
        provider.validate(config);
        storage = provider.create(config, StorageContext.system());
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

    @Test
    void renewalAndMetadataAcrossSlotsLandOnTheirOwnNodes() throws Exception {
        String aud = key("aud");
        SessionMetadata meta = SessionMetadata.of(aud, "alice");
        Set<Integer> slots = new HashSet<>();
        String previous = null;
        for (int i = 0; i < 6; i++) {
            String k = key("session:" + i);
            slots.add(JedisClusterCRC16.getSlot("cl:" + k));
            if (previous == null) {
                storage.set(k, ("v" + i).getBytes(StandardCharsets.UTF_8), Duration.ofHours(1), null, meta);
            } else {
                storage.set(k, ("v" + i).getBytes(StandardCharsets.UTF_8), Duration.ofHours(1),
                        new SessionStorage.Renewal(previous, Duration.ofSeconds(30)), meta);
            }
            previous = k;
        }
        assertTrue(slots.size() > 1, "keys spread over slots");
        assertEquals(6, storage.sessionsOf(aud, "alice").size());
        try (JedisCluster raw = new JedisCluster(new HostAndPort("127.0.0.1", cluster.nodes.get(0).port()))) {
            long stale = raw.pttl("cl:" + key("session:0"));
            assertTrue(stale > 0 && stale <= 30_000, "renewed key shortened on its node: " + stale);
            assertArrayEquals("v5".getBytes(StandardCharsets.UTF_8), raw.get(("cl:" + key("session:5")).getBytes(StandardCharsets.UTF_8)));
        }
    }
}
