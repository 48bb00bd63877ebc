package io.github.apisixsession.storage.redis;

import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import redis.clients.jedis.Jedis;

/** The shared-state contract through Redis Sentinel (one master, one replica, one sentinel). */
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
}
