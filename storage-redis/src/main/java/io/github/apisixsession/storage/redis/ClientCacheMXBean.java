package io.github.apisixsession.storage.redis;

/**
 * The client cache's counters over JMX ({@code io.github.apisixsession:type=RedisClientCache,…}),
 * until the storage SPI can hand them to the runner's Prometheus endpoint. Meanings:
 * {@link ClientCacheStatistics}.
 */
public interface ClientCacheMXBean {

    /** Where the storage connects and its key prefix (no credentials). */
    String getStorage();

    boolean isTracking();

    long getHits();

    long getMisses();

    long getBypassed();

    long getInvalidations();

    long getResets();

    long getEntries();

    long getWeightedBytes();
}
