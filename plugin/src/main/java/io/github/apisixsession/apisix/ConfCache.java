package io.github.apisixsession.apisix;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Conf tokens handed out by PrepareConf. An entry lives {@link HostSettings#confLifetime()} after
 * it was written (APISIX's own cache time plus a grace) and the cache is bounded. Identical
 * (key, conf) re-sends reuse the parsed chain but always get a fresh, valid token.
 */
final class ConfCache {

    /** What a PrepareConf asked for; equal requests parse to the same chain. */
    record ConfSource(String key, List<Entry> entries) {
        ConfSource {
            entries = List.copyOf(entries);
        }
    }

    record Entry(String name, String value) {
    }

    private final Cache<Long, PluginChain> byToken;
    private final Cache<ConfSource, PluginChain> bySource;
    private final AtomicLong counter = new AtomicLong();

    ConfCache(HostSettings settings) {
        this.byToken = Caffeine.newBuilder()
                .expireAfterWrite(settings.confLifetime())
                .maximumSize(settings.confCapacity())
                .ticker(settings.ticker())
                .executor(Runnable::run)
                .build();
        this.bySource = Caffeine.newBuilder()
                .expireAfterWrite(settings.confLifetime())
                .maximumSize(settings.confCapacity())
                .ticker(settings.ticker())
                .executor(Runnable::run)
                .build();
    }

    PluginChain parsed(ConfSource source) {
        return bySource.getIfPresent(source);
    }

    /** Stores a chain under a new token (uint32, never 0) and returns the token. */
    long register(ConfSource source, PluginChain chain) {
        long token;
        do {
            token = counter.incrementAndGet() & 0xFFFF_FFFFL;
        } while (token == 0);
        bySource.put(source, chain);
        byToken.put(token, chain);
        return token;
    }

    /** The chain of a token, or null when unknown or expired. */
    PluginChain lookup(long token) {
        return byToken.getIfPresent(token);
    }
}
