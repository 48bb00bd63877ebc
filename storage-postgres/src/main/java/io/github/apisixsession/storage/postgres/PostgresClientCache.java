package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.cache.ClientCacheBean;
import io.github.apisixsession.storage.cache.CoherentCache;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * One storage's {@code client_cache}: session values read from PostgreSQL, kept in the runner
 * while its {@link NotificationFeed} (started on the first read) says their rows have not changed.
 *
 * <p>The rules ({@link CoherentCache}, shared with the Redis storage): an entry is served only in
 * the feed's current generation (a lost LISTEN connection starts a new one), while the feed can
 * vouch for now ({@link NotificationFeed#ticket}), and until the row's {@code expires_at}, read
 * with the value as time left by the database's clock and counted from before the read was sent;
 * a read that races with a notification, a local write or a reset is not kept. Rows that do not
 * exist are not cached, so an INSERT needs no notification.
 *
 * <p>The counters are published over JMX as {@code io.github.apisixsession:type=PostgresClientCache,id=<n>}.
 */
final class PostgresClientCache implements NotificationFeed.Listener, AutoCloseable {

    /** The counters since the storage was created (tests, logs). */
    record Statistics(boolean listening, long hits, long misses, long bypassed, long invalidations, long resets,
            long entries) {
    }

    private final NotificationFeed feed;
    private final CoherentCache cache;
    private final ClientCacheBean bean;

    /**
     * @param storage where the storage connects, for JMX (no credentials)
     * @param feed    not started yet: the first read starts it; closed with this cache
     */
    PostgresClientCache(String storage, PostgresSettings.ClientCache settings, NotificationFeed feed,
            LongSupplier ticker) {
        this.feed = Objects.requireNonNull(feed, "feed");
        this.cache = new CoherentCache(settings.maxEntries(), settings.maxBytes(), feed::ticket, ticker);
        feed.addListener(this);
        this.bean = ClientCacheBean.publish("PostgresClientCache", storage, feed::live, cache::counters);
    }

    /**
     * The value of a key, from here when it may be trusted, else read: with {@code plain} while
     * local copies cannot be trusted, else with {@code withLife} (the value and how long its row
     * lives on by the database's clock, or null) and kept.
     */
    Optional<byte[]> get(String key, CoherentCache.Query<byte[]> plain, CoherentCache.Query<CoherentCache.Read> withLife)
            throws StorageException {
        feed.start();
        return cache.get(key, plain, withLife);
    }

    /** A write by this runner: the local copy goes at once, before the notification comes back. */
    void forget(String key) {
        cache.invalidate(key);
    }

    @Override
    public void invalidated(String key) {
        cache.invalidated(key);
    }

    @Override
    public void reset(String reason) {
        cache.reset();
    }

    NotificationFeed feed() {
        return feed;
    }

    Statistics statistics() {
        CoherentCache.Counters c = cache.counters();
        return new Statistics(feed.live(), c.hits(), c.misses(), c.bypassed(), c.invalidations(), c.resets(),
                c.entries());
    }

    @Override
    public void close() {
        feed.close();
        cache.reset();
        bean.close();
    }
}
