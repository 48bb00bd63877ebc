package io.github.apisixsession.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Failed upstream responses per session family ({@code failure_limit}), kept in this runner for
 * as long as the session could live. Bounded; a counter evicted early only delays the limit.
 */
final class FailureCounts {

    private final Cache<String, Counter> counts;

    FailureCounts(Clock clock, long capacity) {
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
        this.counts = Caffeine.newBuilder()
                .ticker(ticker)
                .executor(Runnable::run)
                .maximumSize(capacity)
                .expireAfter(new Expiry<String, Counter>() {
                    @Override
                    public long expireAfterCreate(String key, Counter c, long currentTime) {
                        return TimeUnit.SECONDS.toNanos(c.lifetimeSeconds);
                    }

                    @Override
                    public long expireAfterUpdate(String key, Counter c, long currentTime, long currentDuration) {
                        return currentDuration;
                    }

                    @Override
                    public long expireAfterRead(String key, Counter c, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .build();
    }

    /** Adds one failure; returns the count so far. */
    int increment(String family, long lifetimeSeconds) {
        return counts.get(family, k -> new Counter(Math.max(1, lifetimeSeconds))).value.incrementAndGet();
    }

    void reset(String family) {
        counts.invalidate(family);
    }

    private static final class Counter {
        final long lifetimeSeconds;
        final AtomicInteger value = new AtomicInteger();

        Counter(long lifetimeSeconds) {
            this.lifetimeSeconds = lifetimeSeconds;
        }
    }
}
