package io.github.apisixsession.storage.redis;

import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.util.List;
import java.util.Map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.contract.RecordingListener;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;

/**
 * The shared-state contract through Redis Sentinel (one master, one replica, one sentinel), and a
 * failover: the feed moves to the new master and what was written before is still there.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@RequiresService(RedisBinaries.class)
class RedisSentinelSharedStateContractTest extends RedisSharedStateTest {

    private static RedisTopologies.Sentinel topology;

    @BeforeAll
    static void startTopology() throws Exception {
        topology = new RedisTopologies.Sentinel("shared");
    }

    @AfterAll
    static void stopTopology() {
        if (topology != null) {
            topology.close();
        }
    }

    @Override
    protected Map<String, Object> topology() {
        return Map.of("sentinels", List.of(Map.of("host", "127.0.0.1", "port", topology.sentinel.port())),
                "master", "shared", "connect_timeout", 3000, "read_timeout", 3000, "client_cache", false);
    }

    @Override
    protected List<Jedis> nodes() {
        return List.of(new Jedis("127.0.0.1", topology.master.port()), new Jedis("127.0.0.1", topology.replica.port()));
    }

    /** Last: it swaps the master and replica roles. */
    @Test
    @Order(Integer.MAX_VALUE)
    void theFeedFollowsAFailover() throws Exception {
        Instant until = now().plusSeconds(3600);
        state().revoke(unique("before"), until);
        String before = masterPort();
        try (Jedis master = new Jedis("127.0.0.1", Integer.parseInt(before), 20_000)) {
            assertEquals(1, master.waitReplicas(1, 15_000), "replicated before the failover");
        }
        RecordingListener heard = new RecordingListener();
        try (AutoCloseable w = state().watch(heard)) {
            heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
            int mark = heard.size();
            topology.sentinel.cli("SENTINEL", "FAILOVER", "shared");
            awaitTrue("the sentinel promotes the replica", () -> !masterPort().equals(before));
            int lost = heard.await("disconnected from the old master", mark,
                    e -> e instanceof RecordingListener.Disconnected);
            heard.await("resynchronize on the new master", lost + 1, e -> e instanceof RecordingListener.Resynchronize);
            SharedSessionState other = otherRunner();
            awaitTrue("the new master takes writes", () -> {
                try {
                    other.revoke(unique("after"), until);
                    return true;
                } catch (StorageException e) {
                    return false; // READONLY from the demoted master until the client follows
                }
            });
            heard.await("a revocation made on the new master",
                    e -> e.equals(new RecordingListener.Revoked(new Revocation(unique("after"), until))));
            assertTrue(state().snapshot().revocations().contains(new Revocation(unique("before"), until)),
                    "a revocation made before the failover");
        }
        assertNotEquals(before, masterPort());
    }

    private static String masterPort() throws Exception {
        String out = topology.sentinel.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "shared");
        return out.trim().split("\\s+")[1];
    }
}
