package io.github.apisixsession.storage.redis;

import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.Jedis;

/** The shared-state contract against the local standalone Redis. */
@RequiresService(SharedRedis.class)
class RedisSharedStateContractTest extends RedisSharedStateTest {

    @Override
    protected Map<String, Object> topology() {
        return LocalRedis.config("client_cache_heartbeat", 100);
    }

    @Override
    protected List<Jedis> nodes() {
        return List.of(new Jedis(LocalRedis.HOST, LocalRedis.PORT));
    }
}
