package io.github.apisixsession.storage.cache;

/**
 * A storage's client cache counters over JMX ({@code io.github.apisixsession:type=RedisClientCache,…}
 * or {@code type=PostgresClientCache}), published by {@link ClientCacheBean}.
 */
public interface ClientCacheMXBean {

    /** Where the storage connects and its key prefix or table (no credentials). */
    String getStorage();

    /** Whether change messages are being received now (entries may be served). */
    boolean isTracking();

    /** Reads answered from the runner's memory. */
    long getHits();

    /** Reads sent to the store and kept (when nothing changed meanwhile). */
    long getMisses();

    /** Reads sent to the store while its change messages were not received (not kept). */
    long getBypassed();

    /** Keys the store said changed. */
    long getInvalidations();

    /** Times the whole cache was dropped (change messages lost, topology changed). */
    long getResets();

    /** Entries held now. */
    long getEntries();

    /** Their estimated size in bytes. */
    long getWeightedBytes();
}
