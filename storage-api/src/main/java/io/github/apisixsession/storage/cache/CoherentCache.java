package io.github.apisixsession.storage.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.github.apisixsession.storage.StorageException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Session values read from a shared storage, kept in the runner while the storage's change
 * messages say they have not changed: the core of the Redis and PostgreSQL {@code client_cache}.
 * The storage feeds it those messages ({@link #invalidated}, {@link #reset}) and says, through
 * {@link Coherence}, whether it can vouch for them now.
 *
 * <p>An entry is served only if all of these hold: it was read in the current generation of the
 * storage's message connection (any loss starts a new one, so nothing read before a loss is served
 * after it, even before the reset clears the map); the storage can vouch for now
 * ({@link Coherence#ticket}); and the entry's life, read with the value and counted from before
 * the read was sent, has not run out. A read that races with a change is not kept: a marker goes
 * in before the read is sent, an invalidation, a local write or a reset removes it, and the value
 * replaces only that same marker. Absent values are never kept.
 *
 * <p>Bounded by {@code maxBytes} (estimated: key, value and bookkeeping) and {@code maxEntries}:
 * every entry weighs at least {@code maxBytes / maxEntries}. Needs Caffeine on the class path (an
 * optional dependency of this module).
 */
public final class CoherentCache {

    /** Whether local copies may be trusted now: the generation they must carry, or -1. */
    @FunctionalInterface
    public interface Coherence {
        long ticket(long nowNanos);
    }

    /** A read behind the cache. */
    @FunctionalInterface
    public interface Query<T> {
        T run() throws StorageException;
    }

    /**
     * What a read that may be kept found.
     *
     * @param value     the value, or null (nothing is kept)
     * @param lifeNanos how long it may be kept, counted from before the read was sent; at most
     *                  {@link #FOREVER_NANOS}; 0 or less: answer it, keep nothing
     */
    public record Read(byte[] value, long lifeNanos) {
    }

    /** The counters since the cache was created. */
    public record Counters(long hits, long misses, long bypassed, long invalidations, long resets, long entries,
            long weightedBytes) {
    }

    /** Estimated heap bytes of an entry besides its key's and value's bytes. */
    public static final int ENTRY_OVERHEAD = 160;
    /** A life without end (a key without a TTL), short of overflowing the ticker's arithmetic. */
    public static final long FOREVER_NANOS = TimeUnit.DAYS.toNanos(365L * 100);
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

    /** @param ticker nanoseconds, the clock of {@code coherence} and of every entry's life */
    public CoherentCache(int maxEntries, long maxBytes, Coherence coherence, LongSupplier ticker) {
        if (maxEntries < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("maxEntries and maxBytes must be positive");
        }
        this.coherence = Objects.requireNonNull(coherence, "coherence");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.minWeight = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (maxBytes + maxEntries - 1) / maxEntries));
        this.entries = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
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

    /**
     * The value under {@code key}, from here when it may be trusted, else read: with {@code plain}
     * while local copies cannot be trusted (nothing is kept), else with {@code withLife} (kept).
     */
    public Optional<byte[]> get(String key, Query<byte[]> plain, Query<Read> withLife) throws StorageException {
        long now = ticker.getAsLong();
        long ticket = coherence.ticket(now);
        if (ticket < 0) {
            bypassed.increment();
            return Optional.ofNullable(plain.run());
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
            read = withLife.run();
        } catch (StorageException | RuntimeException e) {
            entries.asMap().remove(key, marker);
            throw e;
        }
        byte[] value = read == null ? null : read.value();
        if (value == null || read.lifeNanos() <= 0 || coherence.ticket(ticker.getAsLong()) != ticket) {
            entries.asMap().remove(key, marker);
        } else {
            long life = Math.min(read.lifeNanos(), FOREVER_NANOS);
            // kept only if no invalidation, local write or reset removed the marker meanwhile
            entries.asMap().replace(key, marker, new Cached(value.clone(), ticket, now + life));
        }
        return Optional.ofNullable(value);
    }

    /** A write by this runner: the local copy goes at once, before the storage's own message comes back. */
    public void invalidate(String key) {
        entries.invalidate(key);
    }

    /** The storage says {@code key} changed. */
    public void invalidated(String key) {
        invalidations.increment();
        entries.invalidate(key);
    }

    /** The storage says every key changed (a flush): counted as one invalidation. */
    public void invalidatedAll() {
        invalidations.increment();
        entries.invalidateAll();
    }

    /** What was heard may be incomplete: everything goes. */
    public void reset() {
        resets.increment();
        entries.invalidateAll();
    }

    public Counters counters() {
        entries.cleanUp();
        long weighted = entries.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
        return new Counters(hits.sum(), misses.sum(), bypassed.sum(), invalidations.sum(), resets.sum(),
                entries.estimatedSize(), weighted);
    }

    /** Entries live until their life runs out; markers a minute at most. */
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
