package io.github.apisixsession.e2e;

import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.util.Map;
import java.util.UUID;

/**
 * {@link SharedStateITBase} on a {@code redis-server} of the test's own (append-only, fsynced, so a
 * killed server restarts with what it acknowledged).
 */
@RequiresService(RedisBinaries.class)
class SharedStateRedisIT extends SharedStateITBase {
    private final String prefix = "shared-" + UUID.randomUUID();
    private TestRedisServer redis;

    @Override
    String storeName() {
        return "redis";
    }

    @Override
    Map<String, Object> storeConf() {
        return Map.of("port", redis.port, "prefix", prefix);
    }

    @Override
    void startStore() throws Exception {
        redis = TestRedisServer.start("shared-state-it");
    }

    @Override
    void stopStore() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    void killStore() throws Exception {
        redis.signal("KILL");
        redis.awaitExit();
    }

    @Override
    void restartStore() throws Exception {
        redis.start();
    }
}
