package io.github.apisixsession.core.state;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

/**
 * The engine's bounded in-process caches: each entry lives for its own number of seconds from
 * when it was written, on the engine's clock (so timeouts are testable), and eviction runs on
 * the calling thread (no background threads to leak).
 */
final class ExpiringCache {

    private ExpiringCache() {
    }

    static <K, V> Cache<K, V> build(Clock clock, long capacity, ToLongFunction<V> lifetimeSeconds) {
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
        return Caffeine.newBuilder()
                .ticker(ticker)
                .executor(Runnable::run)
                .maximumSize(capacity)
                .expireAfter(new Expiry<K, V>() {
                    @Override
                    public long expireAfterCreate(K key, V value, long currentTime) {
                        return TimeUnit.SECONDS.toNanos(Math.max(1, lifetimeSeconds.applyAsLong(value)));
                    }

                    @Override
                    public long expireAfterUpdate(K key, V value, long currentTime, long currentDuration) {
                        return expireAfterCreate(key, value, currentTime);
                    }

                    @Override
                    public long expireAfterRead(K key, V value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .build();
    }
}
