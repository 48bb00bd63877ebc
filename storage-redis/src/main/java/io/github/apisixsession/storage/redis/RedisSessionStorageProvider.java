package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code "storage": "redis"}: sessions in Redis (standalone, Sentinel with {@code sentinels} +
 * {@code master}, Cluster with {@code nodes}), configured under the route's {@code redis} object
 * with lua-resty-session's option names. See docs/redis.md.
 */
public final class RedisSessionStorageProvider implements SessionStorageProvider {

    public static final String NAME = "redis";

    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionStorageProvider.class);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(StorageConfig config) throws StorageConfigException {
        RedisSettings.parse(config, null);
    }

    @Override
    public SessionStorage create(StorageConfig config, StorageContext context) throws StorageConfigException {
        RedisSettings settings = RedisSettings.parse(config, context.environment());
        LOG.info("redis storage: {}", settings.describe());
        return new RedisSessionStorage(settings, context.clock());
    }
}
