package io.github.apisixsession.storage.redis;

/**
 * The client cache's counters since the storage was created.
 *
 * @param tracking      whether invalidations are being received now (entries may be served)
 * @param hits          reads answered from the runner's memory
 * @param misses        reads sent to Redis and kept (when nothing changed meanwhile)
 * @param bypassed      reads sent to Redis while tracking was not established (not kept)
 * @param invalidations keys Redis said changed (a flush counts once)
 * @param resets        times the whole cache was dropped (tracking lost, topology changed)
 * @param entries       entries held now
 * @param weightedBytes their estimated size in bytes (at least {@code max_bytes / max_entries} each)
 */
public record ClientCacheStatistics(boolean tracking, long hits, long misses, long bypassed, long invalidations,
        long resets, long entries, long weightedBytes) {
}
