package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.cache.ClientCacheBean;
import java.util.Optional;
import java.util.function.Supplier;
import redis.clients.jedis.UnifiedJedis;

/**
 * One storage's {@code client_cache}: its {@link InvalidationFeed}, started on the first read,
 * the {@link ClientSideCache} that listens to it, and the counters, also published over JMX
 * ({@code io.github.apisixsession:type=RedisClientCache,id=<n>}).
 */
final class RedisClientCache implements AutoCloseable {

    private final InvalidationFeed feed;
    private final ClientSideCache cache;
    private final ClientCacheBean bean;

    /** @param client the storage's Jedis client, null while it is not built (Sentinel, Cluster) */
    RedisClientCache(RedisSettings settings, Supplier<UnifiedJedis> client) {
        this.feed = new InvalidationFeed(settings, TrackedNodes.of(settings, client), System::nanoTime);
        this.cache = new ClientSideCache(settings.clientCache(), feed::ticket, System::nanoTime);
        feed.addListener(cache);
        this.bean = ClientCacheBean.publish("RedisClientCache",
                settings.describe() + (settings.prefix() == null ? "" : " prefix " + settings.prefix()), feed::live,
                cache::counters);
    }

    Optional<byte[]> get(String redisKey, ClientSideCache.Reads reads) throws StorageException {
        feed.start();
        return cache.get(redisKey, reads);
    }

    /** Drops the local copy of a key this runner is writing or deleting. */
    void invalidate(String redisKey) {
        cache.invalidate(redisKey);
    }

    InvalidationFeed feed() {
        return feed;
    }

    ClientCacheStatistics statistics() {
        return cache.statistics(feed.live());
    }

    @Override
    public void close() {
        feed.close();
        bean.close();
    }
}
