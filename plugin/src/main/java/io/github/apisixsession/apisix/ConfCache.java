package io.github.apisixsession.apisix;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Conf tokens handed out by PrepareConf. An entry lives {@link HostSettings#confLifetime()} after
 * it was written (APISIX's own cache time plus a grace) and the cache is bounded. Identical
 * (key, conf) re-sends reuse the parsed chain but always get a fresh, valid token.
 *
 * <p>Tokens are uniformly random non-zero uint32 values from {@link SecureRandom}, never one that
 * is live: a token is the only thing an HTTPReqCall names its route's conf by, so a counter would
 * let any process allowed on the socket use another route's conf by guessing.
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

    /** A live token and the PrepareConf it answered, as handed to a successor runner. */
    record Live(long token, ConfSource source) {
    }

    private record Registered(ConfSource source, PluginChain chain) {
    }

    private final Cache<Long, Registered> byToken;
    private final Cache<ConfSource, PluginChain> bySource;
    private final Random random;

    ConfCache(HostSettings settings) {
        this(settings, new SecureRandom());
    }

    ConfCache(HostSettings settings, Random random) {
        this.random = random;
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

    /** Stores a chain under a new token (random uint32, never 0, never a live one) and returns the token. */
    long register(ConfSource source, PluginChain chain) {
        bySource.put(source, chain);
        Registered entry = new Registered(source, chain);
        while (true) {
            long token = random.nextInt() & 0xFFFF_FFFFL;
            if (token != 0 && byToken.asMap().putIfAbsent(token, entry) == null) {
                return token;
            }
        }
    }

    /**
     * Makes {@code token}, issued by the runner this one took over from, name the chain that
     * {@code ownToken} names here; false when {@code ownToken} is unknown or {@code token} is taken.
     */
    boolean adopt(long token, long ownToken) {
        Registered entry = byToken.getIfPresent(ownToken);
        return token != 0 && entry != null && byToken.asMap().putIfAbsent(token, entry) == null;
    }

    /** The chain of a token, or null when unknown or expired. */
    PluginChain lookup(long token) {
        Registered entry = byToken.getIfPresent(token);
        return entry == null ? null : entry.chain();
    }

    /** Every live token with its PrepareConf, for a successor runner. */
    List<Live> live() {
        List<Live> out = new ArrayList<>();
        byToken.asMap().forEach((token, entry) -> out.add(new Live(token, entry.source())));
        return out;
    }
}
