package io.github.apisixsession.core.state;

import com.github.benmanes.caffeine.cache.Cache;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Failed upstream responses per session family ({@code failure_limit}), kept in this runner for
 * as long as the session could live. Bounded; a counter evicted early only delays the limit.
 */
public final class FailureCounts {

    private final Cache<String, Counter> counts;

    public FailureCounts(Clock clock, long capacity) {
        this.counts = ExpiringCache.build(clock, capacity, c -> c.lifetimeSeconds);
    }

    /** Adds one failure; returns the count so far. */
    public int increment(String family, long lifetimeSeconds) {
        return counts.get(family, k -> new Counter(Math.max(1, lifetimeSeconds))).value.incrementAndGet();
    }

    public void reset(String family) {
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
