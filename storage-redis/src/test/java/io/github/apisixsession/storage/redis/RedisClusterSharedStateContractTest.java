package io.github.apisixsession.storage.redis;

import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import redis.clients.jedis.Jedis;

/**
 * The shared-state contract against a three-master Redis Cluster: the feeds listen on the first
 * master, which need not own the state's slot, so delivery relies on the Cluster broadcasting PUBLISH.
 */
@RequiresService(RedisBinaries.class)
class RedisClusterSharedStateContractTest extends RedisSharedStateTest {

    private static RedisTopologies.Cluster cluster;

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

    @Override
    protected Map<String, Object> topology() {
        return Map.of("nodes", cluster.nodesConfig(), "connect_timeout", 3000, "read_timeout", 3000,
                "client_cache_heartbeat", 100);
    }

    @Override
    protected List<Jedis> nodes() {
        List<Jedis> out = new ArrayList<>();
        for (RedisProcess n : cluster.nodes) {
            out.add(new Jedis("127.0.0.1", n.port()));
        }
        return out;
    }
}
