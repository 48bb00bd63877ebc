package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.contract.SharedSessionStateContract;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ClientKillParams;

/**
 * The shared-state contract for one Redis topology: every runner is a storage of its own under
 * the same per-test prefix; {@link #killFeedConnections} kills the subscribers by their name.
 */
abstract class RedisSharedStateTest extends SharedSessionStateContract {

    private final List<RedisSessionStorage> storages = new ArrayList<>();
    private String prefix;

    /** The storage config of this topology, without the prefix. */
    protected abstract Map<String, Object> topology();

    /** One client per node a feed may listen on. */
    protected abstract List<Jedis> nodes();

    @BeforeEach
    void firstRunner() throws Exception {
        prefix = LocalRedis.uniquePrefix();
        openRunner();
    }

    @AfterEach
    void closeRunners() {
        storages.forEach(RedisSessionStorage::close);
        storages.clear();
    }

    private RedisSessionStorage openRunner() throws Exception {
        Map<String, Object> config = new HashMap<>(topology());
        config.put("prefix", prefix);
        RedisSessionStorage s = (RedisSessionStorage) new RedisSessionStorageProvider()
                .create(StorageConfig.of("redis", config), StorageContext.system());
        storages.add(s);
        return s;
    }

    @Override
    protected SharedSessionState state() {
        return storages.get(0).sharedState().orElseThrow();
    }

    @Override
    protected SharedSessionState otherRunner() throws Exception {
        return openRunner().sharedState().orElseThrow();
    }

    @Override
    protected void killFeedConnections() {
        for (Jedis j : nodes()) {
            try (j) {
                killStateFeeds(j);
            }
        }
    }

    /**
     * Kills the shared-state subscribers on the node {@code j} is connected to (what an end-to-end
     * test can do with {@code redis-cli CLIENT LIST TYPE pubsub} and {@code CLIENT KILL ID}); the number killed.
     */
    static int killStateFeeds(Jedis j) {
        int killed = 0;
        for (String line : j.clientList(redis.clients.jedis.args.ClientType.PUBSUB).split("\n")) {
            if (line.contains(" name=" + RedisClients.STATE_CLIENT_NAME + " ")) {
                String id = line.substring(line.indexOf("id=") + 3, line.indexOf(' ', line.indexOf("id=")));
                killed += (int) j.clientKill(ClientKillParams.clientKillParams().id(id));
            }
        }
        return killed;
    }
}
