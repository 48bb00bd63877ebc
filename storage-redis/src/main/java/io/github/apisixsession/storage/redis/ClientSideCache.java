package io.github.apisixsession.storage.redis;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.github.apisixsession.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Session values read from Redis, kept in the runner while Redis' invalidation messages say they
 * have not changed ({@link InvalidationFeed}).
 *
 * <p>An entry is served only if all of these hold: it was read in the feed's current generation
 * (any loss of tracking starts a new one, so nothing read before a loss is served after it, even
 * before the reset clears the map); the feed can vouch for now ({@link Coherence#ticket}); and
 * the key's TTL, read with the value ({@code PTTL}, counted from before the read was sent), has
 * not run out. A read that races with a change is not kept: a marker goes in before the read is
 * sent, an invalidation or a local write removes it, and the value replaces only that same marker.
 *
 * <p>Bounded by {@code client_cache_max_bytes} (estimated: key, value and bookkeeping) and by
 * {@code client_cache_max_entries}: every entry weighs at least {@code max_bytes / max_entries}.
 */
final class ClientSideCache implements InvalidationFeed.Listener {

    /** Whether local copies may be trusted now: the generation they must carry, or -1. */
    @FunctionalInterface
    interface Coherence {
        long ticket(long nowNanos);
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
    static final int ENTRY_OVERHEAD = 160;
    private static final long FOREVER_NANOS = TimeUnit.DAYS.toNanos(365L * 100);
    /** A marker left by a read that never finished is dropped after this. */
    private static final long MARKER_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Cache<String, Object> entries;
    private final Coherence coherence;
    private final LongSupplier ticker;
    private final int minWeight;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder bypassed = new LongAdder();
    private final LongAdder invalidations = new LongAdder();
    private final LongAdder resets = new LongAdder();

    private record Cached(byte[] value, long generation, long expiresAtNanos) {
    }

    /** Put in before a read is sent; only the read that put it may replace it. */
    private static final class Marker {
    }

    ClientSideCache(RedisSettings.ClientCache settings, Coherence coherence, LongSupplier ticker) {
        this.coherence = Objects.requireNonNull(coherence, "coherence");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.minWeight = (int) Math.max(1, Math.min(Integer.MAX_VALUE,
                (settings.maxBytes() + settings.maxEntries() - 1) / settings.maxEntries()));
        this.entries = Caffeine.newBuilder()
                .maximumWeight(settings.maxBytes())
                .weigher((String key, Object v) -> weight(key, v))
                .expireAfter(new Lifetime())
                .ticker(ticker::getAsLong)
                .executor(Runnable::run)
                .build();
    }

    private int weight(String key, Object v) {
        long bytes = ENTRY_OVERHEAD + key.length() + (v instanceof Cached c ? c.value().length : 0);
        return (int) Math.max(minWeight, Math.min(Integer.MAX_VALUE, bytes));
    }

    /** The value under {@code key} (the full Redis key), from here when it may be trusted, else through {@code reads}. */
    Optional<byte[]> get(String key, Reads reads) throws StorageException {
        long now = ticker.getAsLong();
        long ticket = coherence.ticket(now);
        if (ticket < 0) {
            bypassed.increment();
            return Optional.ofNullable(reads.value());
        }
        if (entries.getIfPresent(key) instanceof Cached c && c.generation() == ticket && c.expiresAtNanos() - now > 0) {
            hits.increment();
            return Optional.of(c.value().clone());
        }
        misses.increment();
        Marker marker = new Marker();
        entries.put(key, marker);
        Read read;
        try {
            read = reads.valueAndTtl();
        } catch (StorageException | RuntimeException e) {
            entries.asMap().remove(key, marker);
            throw e;
        }
        byte[] value = read.value();
        if (value == null || read.pttlMillis() == -2 || coherence.ticket(ticker.getAsLong()) != ticket) {
            entries.asMap().remove(key, marker);
        } else {
            long life = read.pttlMillis() < 0 ? FOREVER_NANOS : TimeUnit.MILLISECONDS.toNanos(read.pttlMillis());
            // kept only if no invalidation, local write or reset removed the marker meanwhile
            entries.asMap().replace(key, marker, new Cached(value.clone(), ticket, now + life));
        }
        return Optional.ofNullable(value);
    }

    /** A write by this runner: the local copy goes at once, before Redis' own message comes back. */
    void invalidate(String key) {
        entries.invalidate(key);
    }

    @Override
    public void invalidated(List<byte[]> keys) {
        if (keys == null) {
            invalidations.increment();
            entries.invalidateAll();
            return;
        }
        invalidations.add(keys.size());
        for (byte[] k : keys) {
            entries.invalidate(new String(k, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void reset(String reason) {
        resets.increment();
        entries.invalidateAll();
    }

    ClientCacheStatistics statistics(boolean tracking) {
        entries.cleanUp();
        long weighted = entries.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
        return new ClientCacheStatistics(tracking, hits.sum(), misses.sum(), bypassed.sum(), invalidations.sum(),
                resets.sum(), entries.estimatedSize(), weighted);
    }

    /** Entries live until their key's TTL runs out; markers a minute at most. */
    private static final class Lifetime implements Expiry<String, Object> {
        @Override
        public long expireAfterCreate(String key, Object value, long currentTime) {
            return value instanceof Cached c ? Math.max(0, c.expiresAtNanos() - currentTime) : MARKER_NANOS;
        }

        @Override
        public long expireAfterUpdate(String key, Object value, long currentTime, long currentDuration) {
            return expireAfterCreate(key, value, currentTime);
        }

        @Override
        public long expireAfterRead(String key, Object value, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }
}
