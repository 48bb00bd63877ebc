package io.github.apisixsession.storage.postgres;

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
 * One storage's {@code client_cache}: session values read from PostgreSQL, kept in the runner
 * while its {@link NotificationFeed} (started on the first read) says their rows have not changed.
 *
 * <p>An entry is served only if it was read in the feed's current generation (a lost LISTEN
 * connection starts a new one, so nothing read before a loss is served after it, even before the
 * reset empties the map), the feed can vouch for now ({@link NotificationFeed#ticket}), and the
 * row's {@code expires_at}, read with the value as time left by the database's clock and counted
 * from before the read was sent, has not passed. A read that races with a change is not kept: a
 * marker goes in before the read is sent, a notification, a local write or a reset removes it, and
 * the value replaces only that same marker. Rows that do not exist are not cached, so an INSERT
 * needs no notification.
 *
 * <p>Bounded by {@code client_cache_max_bytes} (estimated: key, value and bookkeeping) and
 * {@code client_cache_max_entries}: every entry weighs at least {@code max_bytes / max_entries}.
 */
final class PostgresClientCache implements NotificationFeed.Listener, AutoCloseable {

    /** A read behind the cache. */
    @FunctionalInterface
    interface Query<T> {
        T run(String key) throws StorageException;
    }

    record Read(byte[] value, long lifeMicros) {
    }

    /** The counters since the storage was created (tests, logs). */
    record Statistics(boolean listening, long hits, long misses, long bypassed, long invalidations, long resets,
            long entries) {
    }

    /** Estimated heap bytes of an entry besides its key's and value's bytes. */
    static final int ENTRY_OVERHEAD = 160;
    /** A marker left by a read that never finished is dropped after this. */
    private static final long MARKER_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final NotificationFeed feed;
    private final Cache<String, Object> entries;
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

    /** @param feed not started yet: the first read starts it; closed with this cache */
    PostgresClientCache(PostgresSettings.ClientCache s, NotificationFeed feed, LongSupplier ticker) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.feed = Objects.requireNonNull(feed, "feed");
        this.minWeight = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (s.maxBytes() + s.maxEntries() - 1) / s.maxEntries()));
        this.entries = Caffeine.newBuilder()
                .maximumWeight(s.maxBytes())
                .weigher((String key, Object v) -> (int) Math.max(minWeight, Math.min(Integer.MAX_VALUE,
                        ENTRY_OVERHEAD + 2L * key.length() + (v instanceof Cached c ? c.value().length : 0))))
                .expireAfter(new UntilRowExpiry())
                .ticker(ticker::getAsLong)
                .executor(Runnable::run)
                .build();
        feed.addListener(this);
    }

    /**
     * The value of {@code key}, from here when it may be trusted, else read: with {@code plain}
     * while local copies cannot be trusted, else with {@code withLife} (the value and how long its
     * row lives on by the database's clock, or null) and kept.
     */
    Optional<byte[]> get(String key, Query<byte[]> plain, Query<Read> withLife) throws StorageException {
        feed.start();
        long now = ticker.getAsLong();
        long ticket = feed.ticket(now);
        if (ticket < 0) {
            bypassed.increment();
            return Optional.ofNullable(plain.run(key));
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
            read = withLife.run(key);
        } catch (StorageException | RuntimeException e) {
            entries.asMap().remove(key, marker);
            throw e;
        }
        if (read == null || read.lifeMicros() <= 0 || feed.ticket(ticker.getAsLong()) != ticket) {
            entries.asMap().remove(key, marker);
            return Optional.ofNullable(read == null ? null : read.value());
        }
        long expiresAt = now + TimeUnit.MICROSECONDS.toNanos(read.lifeMicros());
        // kept only if no notification, local write or reset removed the marker meanwhile
        entries.asMap().replace(key, marker, new Cached(read.value().clone(), ticket, expiresAt));
        return Optional.of(read.value());
    }

    /** A write by this runner: the local copy goes at once, before the notification comes back. */
    void forget(String key) {
        entries.invalidate(key);
    }

    @Override
    public void invalidated(String key) {
        invalidations.increment();
        entries.invalidate(key);
    }

    @Override
    public void reset(String reason) {
        resets.increment();
        entries.invalidateAll();
    }

    NotificationFeed feed() {
        return feed;
    }

    Statistics statistics() {
        entries.cleanUp();
        return new Statistics(feed.live(), hits.sum(), misses.sum(), bypassed.sum(), invalidations.sum(), resets.sum(),
                entries.estimatedSize());
    }

    @Override
    public void close() {
        feed.close();
        entries.invalidateAll();
    }

    /** A value lives until its row expires, a marker a minute at most; reads change nothing. */
    private static final class UntilRowExpiry implements Expiry<String, Object> {
        @Override
        public long expireAfterCreate(String key, Object v, long now) {
            return v instanceof Cached c ? Math.max(0, c.expiresAtNanos() - now) : MARKER_NANOS;
        }

        @Override
        public long expireAfterUpdate(String key, Object v, long now, long current) {
            return expireAfterCreate(key, v, now);
        }

        @Override
        public long expireAfterRead(String key, Object v, long now, long current) {
            return current;
        }
    }
}
