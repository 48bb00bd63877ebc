package io.github.apisixsession.core.state;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Set-Cookie values decided in the request phase of a route that may also run
 * ext-plugin-post-resp. There APISIX overwrites the request phase's cookies with the post-resp
 * reply's headers, so the post-resp call collects them here by the request's {@code request_id}
 * (the same in every phase of one request) and emits them itself.
 */
public final class PendingCookies {

    private final Cache<String, List<String>> pending;

    public PendingCookies(Clock clock, Duration keepFor, long capacity) {
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
        this.pending = Caffeine.newBuilder()
                .ticker(ticker)
                .executor(Runnable::run)
                .expireAfterWrite(keepFor)
                .maximumSize(capacity)
                .build();
    }

    public void put(String requestId, List<String> setCookies) {
        if (!requestId.isEmpty() && !setCookies.isEmpty()) {
            pending.put(requestId, List.copyOf(setCookies));
        }
    }

    /** The cookies stored for this request, removed as they are taken. */
    public List<String> take(String requestId) {
        if (requestId.isEmpty()) {
            return List.of();
        }
        List<String> found = pending.asMap().remove(requestId);
        return found == null ? List.of() : found;
    }
}
