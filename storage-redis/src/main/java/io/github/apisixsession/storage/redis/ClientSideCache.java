package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.cache.CoherentCache;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Session values read from Redis, kept in the runner while Redis' invalidation messages say they
 * have not changed ({@link InvalidationFeed}).
 *
 * <p>The rules ({@link CoherentCache}, shared with the PostgreSQL storage): an entry is served only
 * in the feed's current generation, while the feed can vouch for now ({@link Coherence#ticket}),
 * and until the key's TTL, read with the value ({@code PTTL}, counted from before the read was
 * sent), runs out; a read that races with a change is not kept.
 *
 * <p>Bounded by {@code client_cache_max_bytes} (estimated: key, value and bookkeeping) and by
 * {@code client_cache_max_entries}: every entry weighs at least {@code max_bytes / max_entries}.
 */
final class ClientSideCache implements InvalidationFeed.Listener {

    /** Whether local copies may be trusted now: the generation they must carry, or -1. */
    @FunctionalInterface
    interface Coherence extends CoherentCache.Coherence {
    }

    /** The reads behind the cache. */
    interface Reads {
        /** The value, or null (a plain {@code GET}, while local copies cannot be trusted). */
        byte[] value() throws StorageException;

        /** The value and its {@code PTTL} in milliseconds (-1: no TTL, -2: no key). */
        Read valueAndTtl() throws StorageException;
    }

    record Read(byte[] value, long pttlMillis) {
    }

    /** Estimated heap bytes of an entry besides its key's and value's bytes. */
    static final int ENTRY_OVERHEAD = CoherentCache.ENTRY_OVERHEAD;

    private final CoherentCache cache;

    ClientSideCache(RedisSettings.ClientCache settings, Coherence coherence, LongSupplier ticker) {
        this.cache = new CoherentCache(settings.maxEntries(), settings.maxBytes(), coherence, ticker);
    }

    /** The value under {@code key} (the full Redis key), from here when it may be trusted, else through {@code reads}. */
    Optional<byte[]> get(String key, Reads reads) throws StorageException {
        return cache.get(key, reads::value, () -> {
            Read read = reads.valueAndTtl();
            long pttl = read.pttlMillis();
            long life = pttl == -2 ? 0 : pttl < 0 ? CoherentCache.FOREVER_NANOS : TimeUnit.MILLISECONDS.toNanos(pttl);
            return new CoherentCache.Read(read.value(), life);
        });
    }

    /** A write by this runner: the local copy goes at once, before Redis' own message comes back. */
    void invalidate(String key) {
        cache.invalidate(key);
    }

    @Override
    public void invalidated(List<byte[]> keys) {
        if (keys == null) {
            cache.invalidatedAll();
            return;
        }
        for (byte[] k : keys) {
            cache.invalidated(new String(k, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void reset(String reason) {
        cache.reset();
    }

    CoherentCache.Counters counters() {
        return cache.counters();
    }

    ClientCacheStatistics statistics(boolean tracking) {
        CoherentCache.Counters c = cache.counters();
        return new ClientCacheStatistics(tracking, c.hits(), c.misses(), c.bypassed(), c.invalidations(), c.resets(),
                c.entries(), c.weightedBytes());
    }
}
