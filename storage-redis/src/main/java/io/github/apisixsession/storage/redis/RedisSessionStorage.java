package io.github.apisixsession.storage.redis;

import static io.github.apisixsession.storage.redis.RedisKeys.utf8;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import redis.clients.jedis.UnifiedJedis;

/**
 * Sessions in Redis, with lua-resty-session's redis storage semantics. This is the
 * {@link SessionStorage} face; the Redis layout is described where it is written:
 *
 * <ul>
 *   <li>a session is one string key ({@link RedisKeys}), written with its TTL in one
 *       {@code SET … PX} ({@link SessionWriter});</li>
 *   <li>renewal shortens the old key to {@code stale_ttl} in the same batch ({@link RenewalShortening});</li>
 *   <li>subject metadata is a sorted set per (audience, subject) ({@link SubjectIndex}).</li>
 * </ul>
 *
 * <p>{@code client_cache} (on by default): reads of a key read before are answered from the
 * runner's memory while Redis' invalidation messages say it has not changed
 * ({@link RedisClientCache}); this storage's own writes and deletes drop the local copy at once.
 *
 * <p>Outages: every call waits a bounded time and then fails with a {@link StorageException}
 * ({@link RedisCalls}); Sentinel and Cluster clients that could not be built at start are built
 * on first use ({@link LazyRedisClient}).
 */
public final class RedisSessionStorage implements SessionStorage {

    private final RedisSettings settings;
    private final Clock clock;
    private final RedisKeys keys;
    private final LazyRedisClient client;
    private final RedisCalls calls;
    private final SubjectIndex subjects;
    private final SessionWriter writer;
    /** {@code client_cache}; null when off. */
    private final RedisClientCache cache;
    /** Made by {@link #sharedState()}; guarded by this. */
    private RedisSharedState sharedState;

    public RedisSessionStorage(RedisSettings settings, Clock clock) {
        this(settings, clock, () -> RedisClients.create(settings), null);
    }

    /**
     * @param expireLt null to detect PEXPIRE … LT support, false to always use the script (tests)
     */
    RedisSessionStorage(RedisSettings settings, Clock clock, Supplier<UnifiedJedis> factory, Boolean expireLt) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.keys = new RedisKeys(settings);
        this.client = new LazyRedisClient(settings, factory);
        this.calls = new RedisCalls(settings, client);
        this.subjects = new SubjectIndex(keys, calls, clock);
        this.writer = new SessionWriter(keys, calls, new RenewalShortening(settings, expireLt), subjects);
        this.cache = settings.clientCache().enabled() ? new RedisClientCache(settings, client::current) : null;
    }

    public RedisSettings settings() {
        return settings;
    }

    // ---------------------------------------------------------------- keys

    /** The Redis key of a session: {@code [prefix:]<key>[:suffix]}. */
    public String redisKey(String key) {
        return keys.session(key);
    }

    /** The Redis key of a subject's sorted set: {@code [prefix:]@meta:<audience>:<subject>[:suffix]}. */
    public String metadataKey(String audience, String subject) {
        return keys.metadata(audience, subject);
    }

    // ---------------------------------------------------------------- SessionStorage

    @Override
    public Optional<byte[]> get(String key) throws StorageException {
        Objects.requireNonNull(key, "key");
        String redisKey = redisKey(key);
        byte[] k = utf8(redisKey);
        if (cache == null) {
            return Optional.ofNullable(calls.execute("read", jedis -> jedis.get(k)));
        }
        return cache.get(redisKey, readsOf(k));
    }

    /** How the client cache reads {@code k} from Redis on a miss. */
    private ClientSideCache.Reads readsOf(byte[] k) {
        return new ClientSideCache.Reads() {
            @Override
            public byte[] value() throws StorageException {
                return calls.execute("read", jedis -> jedis.get(k));
            }

            @Override
            public ClientSideCache.Read valueAndTtl() throws StorageException {
                return calls.execute("read", jedis -> BatchCommands.run(jedis, c -> {
                    Supplier<byte[]> value = c.get(k);
                    Supplier<Long> pttl = c.pttl(k);
                    return () -> new ClientSideCache.Read(value.get(), pttl.get());
                }));
            }
        };
    }

    /** The client cache's counters; null when {@code client_cache} is off. */
    public ClientCacheStatistics clientCacheStatistics() {
        return cache == null ? null : cache.statistics();
    }

    /** Revocations, markers and counters shared with every runner on this Redis (issue 13), made on first use. */
    @Override
    public synchronized Optional<SharedSessionState> sharedState() {
        if (sharedState == null) {
            sharedState = new RedisSharedState(this, this::clientOrNull, clock);
        }
        return Optional.of(sharedState);
    }

    /** The client cache's invalidation feed (tests); null when {@code client_cache} is off. */
    InvalidationFeed invalidationFeed() {
        return cache == null ? null : cache.feed();
    }

    /** This runner wrote or deleted {@code keys}: their local copies go now, written or not. */
    private void forget(String... keys) {
        if (cache != null) {
            for (String k : keys) {
                if (k != null) {
                    cache.invalidate(k);
                }
            }
        }
    }

    @Override
    public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
            throws StorageException {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive");
        }
        byte[] v = value.clone();
        boolean renews = renewal != null && !renewal.oldKey().equals(key);
        try {
            writer.write(key, v, ttl, renews ? renewal : null, metadata);
        } finally {
            forget(redisKey(key), renews ? redisKey(renewal.oldKey()) : null);
        }
    }

    @Override
    public void delete(String key, SessionMetadata metadata) throws StorageException {
        Objects.requireNonNull(key, "key");
        try {
            writer.delete(key, metadata);
        } finally {
            forget(redisKey(key));
        }
    }

    @Override
    public boolean supportsMetadata() {
        return true;
    }

    /** See {@link SubjectIndex#sessionsOf}. */
    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        return subjects.sessionsOf(audience, subject);
    }

    @Override
    public void close() {
        client.closing();
        synchronized (this) {
            if (sharedState != null) {
                sharedState.close();
            }
        }
        if (cache != null) {
            cache.close();
        }
        client.close();
    }

    // ---------------------------------------------------------------- for the shared state and its feed

    /** {@link RedisSharedState}'s calls go through this storage's outage handling: see {@link RedisCalls#execute}. */
    <T> T execute(String operation, RedisCalls.Call<T> call) throws StorageException {
        return calls.execute(operation, call);
    }

    /** See {@link RedisCalls#clientOrNull}. */
    UnifiedJedis clientOrNull() {
        return calls.clientOrNull();
    }
}
