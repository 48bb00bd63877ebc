package io.github.apisixsession.runner;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import io.github.apisixsession.core.HttpHeader;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Response headers (cookies, {@code Session-*}) that the request half decided and only the
 * response half can send, by APISIX's {@code request_id}. An entry nobody takes means the route
 * lacks {@code session} in {@code ext-plugin-post-resp}: that is logged (at most once a minute).
 */
final class DeferredHeaders {

    private static final Logger LOG = LoggerFactory.getLogger(DeferredHeaders.class);

    private final Cache<String, List<HttpHeader>> pending;
    private final Clock clock;
    private final AtomicLong lost = new AtomicLong();
    private final AtomicLong lastWarning = new AtomicLong(Long.MIN_VALUE);

    DeferredHeaders(Clock clock, Duration keepFor, long capacity) {
        this.clock = clock;
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
        this.pending = Caffeine.newBuilder()
                .ticker(ticker)
                .executor(Runnable::run)
                .expireAfterWrite(keepFor)
                .maximumSize(capacity)
                .<String, List<HttpHeader>>removalListener((k, v, cause) -> {
                    if (cause == RemovalCause.EXPIRED || cause == RemovalCause.SIZE) {
                        notDelivered();
                    }
                })
                .build();
    }

    void put(String requestId, List<HttpHeader> headers) {
        if (!headers.isEmpty()) {
            if (requestId.isEmpty()) {
                notDelivered();
            } else {
                pending.put(requestId, List.copyOf(headers));
            }
        }
    }

    /** The headers kept for this request, removed as they are taken; empty when none. */
    List<HttpHeader> take(String requestId) {
        if (requestId.isEmpty()) {
            return List.of();
        }
        List<HttpHeader> found = pending.asMap().remove(requestId);
        return found == null ? List.of() : found;
    }

    /** Runs expiry now (tests). */
    void cleanUp() {
        pending.cleanUp();
    }

    long lost() {
        return lost.get();
    }

    private void notDelivered() {
        long n = lost.incrementAndGet();
        long now = clock.millis();
        long last = lastWarning.get();
        if (now - last >= 60_000 && lastWarning.compareAndSet(last, now)) {
            LOG.warn("session: {} response(s) decided in the request phase (cookies) were never sent: "
                    + "put \"session\" in ext-plugin-post-resp on every route that has it in "
                    + "ext-plugin-pre-req/post-req", n);
        }
    }
}
