package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.StorageException;
import java.lang.management.ManagementFactory;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.management.JMException;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;

/**
 * One storage's {@code client_cache}: its {@link InvalidationFeed}, started on the first read,
 * the {@link ClientSideCache} that listens to it, and the counters, also published over JMX.
 */
final class RedisClientCache implements ClientCacheMXBean, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RedisClientCache.class);
    private static final AtomicInteger IDS = new AtomicInteger();

    private final InvalidationFeed feed;
    private final ClientSideCache cache;
    private final String storage;
    private final ObjectName name;

    /** @param client the storage's Jedis client, null while it is not built (Sentinel, Cluster) */
    RedisClientCache(RedisSettings settings, Supplier<UnifiedJedis> client) {
        this.feed = new InvalidationFeed(settings, TrackedNodes.of(settings, client), System::nanoTime);
        this.cache = new ClientSideCache(settings.clientCache(), feed::ticket, System::nanoTime);
        this.storage = settings.describe() + (settings.prefix() == null ? "" : " prefix " + settings.prefix());
        feed.addListener(cache);
        this.name = register();
    }

    private ObjectName register() {
        try {
            ObjectName n = new ObjectName("io.github.apisixsession:type=RedisClientCache,id=" + IDS.incrementAndGet());
            ManagementFactory.getPlatformMBeanServer().registerMBean(new StandardMBean(this, ClientCacheMXBean.class, true), n);
            return n;
        } catch (JMException | RuntimeException e) {
            LOG.debug("client cache counters not published over JMX: {}", e.toString());
            return null;
        }
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
        if (name != null) {
            try {
                ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
            } catch (JMException | RuntimeException e) {
                LOG.debug("client cache counters not unpublished: {}", e.toString());
            }
        }
    }

    // ---------------------------------------------------------------- ClientCacheMXBean

    @Override
    public String getStorage() {
        return storage;
    }

    @Override
    public boolean isTracking() {
        return feed.live();
    }

    @Override
    public long getHits() {
        return statistics().hits();
    }

    @Override
    public long getMisses() {
        return statistics().misses();
    }

    @Override
    public long getBypassed() {
        return statistics().bypassed();
    }

    @Override
    public long getInvalidations() {
        return statistics().invalidations();
    }

    @Override
    public long getResets() {
        return statistics().resets();
    }

    @Override
    public long getEntries() {
        return statistics().entries();
    }

    @Override
    public long getWeightedBytes() {
        return statistics().weightedBytes();
    }
}
