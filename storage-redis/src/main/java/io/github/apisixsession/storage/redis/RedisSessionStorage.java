package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.resps.Tuple;

/**
 * Sessions in Redis, with lua-resty-session's redis storage semantics.
 *
 * <ul>
 *   <li>A session is one string key {@code [prefix:]<key>[:suffix]} (the engine's key is
 *       {@code <cookie name>:<session id>}, so this is lua-resty-session's {@code [prefix:]name:key[:suffix]}),
 *       written with its TTL in one {@code SET … PX}.</li>
 *   <li>Renewal shortens the old key to {@code stale_ttl} only if it would live longer:
 *       {@code PEXPIRE old ms LT} on Redis 7, a one-key script on older servers (detected on
 *       first use). Both go in the same pipeline as the SET.</li>
 *   <li>Subject metadata: a sorted set per (audience, subject),
 *       {@code [prefix:]@meta:<audience>:<subject>[:suffix]} ({@code %} and {@code :} escaped), whose
 *       members are session keys scored by their expiry in epoch milliseconds. Every write trims
 *       expired members and keeps the set alive as long as its longest session, in one atomic
 *       one-key script (so it works on a Cluster too).</li>
 * </ul>
 *
 * <p>{@code client_cache} (on by default): reads of a key read before are answered from the
 * runner's memory while Redis' invalidation messages say it has not changed
 * ({@link RedisClientCache}); this storage's own writes and deletes drop the local copy at once.
 *
 * <p>Outages: every call waits at most about {@code pool_wait + connect_timeout + read_timeout}
 * and then fails with a {@link StorageException}. A pooled connection that turns out dead (Redis
 * restarted) is replaced at once and the idempotent command retried, so recovery needs no request
 * to fail. Sentinel and Cluster clients that could not be built at start are built on first use.
 */
public final class RedisSessionStorage implements SessionStorage {

    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionStorage.class);

    /** Redis accepts up to Long.MAX ms; 100 years is plenty and keeps now + ttl from overflowing. */
    private static final long MAX_TTL_MILLIS = Duration.ofDays(365L * 100).toMillis();

    /** Shortens KEYS[1] to ARGV[1] ms if it lives longer (PEXPIRE … LT before Redis 7). */
    static final byte[] SHORTEN = utf8("""
            local t = redis.call('PTTL', KEYS[1])
            if t == -1 or t > tonumber(ARGV[1]) then
              return redis.call('PEXPIRE', KEYS[1], ARGV[1])
            end
            return 0""");

    /**
     * KEYS[1] the subject's sorted set; ARGV now ms, member, expiry ms, replaced member or '', its
     * stale expiry ms. Trims expired members, adds the session, shortens the replaced one's score,
     * and lets the set live as long as its longest member.
     */
    static final byte[] META_ADD = utf8("""
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
            redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
            if ARGV[4] ~= '' and ARGV[4] ~= ARGV[2] then
              local s = redis.call('ZSCORE', KEYS[1], ARGV[4])
              if s and tonumber(s) > tonumber(ARGV[5]) then
                redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
              end
            end
            local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
            local ttl = math.ceil(tonumber(last[2]) - tonumber(ARGV[1]))
            if ttl > 0 then
              redis.call('PEXPIRE', KEYS[1], ttl)
            end
            return 1""");

    private final RedisSettings settings;
    private final Clock clock;
    private final RedisKeys keys;
    private final LazyRedisClient client;
    private final RedisCalls calls;
    /** null: not known yet; whether the server understands PEXPIRE … LT (Redis 7+). */
    private volatile Boolean expireLt;
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
        this.expireLt = expireLt;
        this.client = new LazyRedisClient(settings, factory);
        this.calls = new RedisCalls(settings, client);
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
            return Optional.ofNullable(execute("read", jedis -> jedis.get(k)));
        }
        return cache.get(redisKey, new ClientSideCache.Reads() {
            @Override
            public byte[] value() throws StorageException {
                return execute("read", jedis -> jedis.get(k));
            }

            @Override
            public ClientSideCache.Read valueAndTtl() throws StorageException {
                return execute("read", jedis -> BatchCommands.run(jedis, c -> {
                    Supplier<byte[]> value = c.get(k);
                    Supplier<Long> pttl = c.pttl(k);
                    return () -> new ClientSideCache.Read(value.get(), pttl.get());
                }));
            }
        });
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
        long ttlMillis = millis(ttl);
        byte[] k = utf8(redisKey(key));
        byte[] v = value.clone();
        boolean renews = renewal != null && !renewal.oldKey().equals(key);
        try {
            write(k, v, ttlMillis, renews ? renewal : null, key, metadataKeys(metadata));
        } finally {
            forget(redisKey(key), renews ? redisKey(renewal.oldKey()) : null);
        }
    }

    /** The SET, the old key's shortening and the metadata, in one batch; {@code renewal} null: none. */
    private void write(byte[] k, byte[] v, long ttlMillis, Renewal renewal, String key, Set<String> metaKeys)
            throws StorageException {
        boolean renews = renewal != null;
        byte[] oldK = renews ? utf8(redisKey(renewal.oldKey())) : null;
        long staleMillis = renews ? millis(renewal.staleTtl()) : 0;
        boolean scriptNeeded = execute("write", jedis -> BatchCommands.run(jedis, c -> {
            c.check(c.set(k, v, ttlMillis));
            Supplier<Long> lt = null;
            if (renews) {
                if (Boolean.FALSE.equals(expireLt)) {
                    c.check(c.eval(SHORTEN, oldK, Long.toString(staleMillis)));
                } else {
                    lt = c.pexpireLt(oldK, staleMillis);
                }
            }
            if (!metaKeys.isEmpty()) {
                long now = clock.millis();
                String expiry = Long.toString(now + ttlMillis);
                String old = renews ? renewal.oldKey() : "";
                String staleExpiry = Long.toString(now + staleMillis);
                for (String mk : metaKeys) {
                    c.check(c.eval(META_ADD, utf8(mk), Long.toString(now), key, expiry, old, staleExpiry));
                }
            }
            Supplier<Long> pexpire = lt;
            return () -> pexpire != null && !expireLtWorked(pexpire);
        }));
        if (scriptNeeded) {
            execute("renew", jedis -> jedis.eval(SHORTEN, 1, oldK, utf8(Long.toString(staleMillis))));
        }
    }

    /** Reads the PEXPIRE … LT reply; false when the server is older than Redis 7. */
    private boolean expireLtWorked(Supplier<Long> reply) {
        try {
            reply.get();
            expireLt = Boolean.TRUE;
            return true;
        } catch (JedisDataException e) {
            String m = String.valueOf(e.getMessage());
            if (!m.startsWith("ERR")) {
                throw e;
            }
            if (!Boolean.FALSE.equals(expireLt)) {
                LOG.info("redis storage ({}): no PEXPIRE … LT on this server (before Redis 7), shortening "
                        + "renewed sessions with a script", settings.describe());
            }
            expireLt = Boolean.FALSE;
            return false;
        }
    }

    @Override
    public void delete(String key, SessionMetadata metadata) throws StorageException {
        Objects.requireNonNull(key, "key");
        try {
            unlink(key, metadataKeys(metadata));
        } finally {
            forget(redisKey(key));
        }
    }

    private void unlink(String key, Set<String> metaKeys) throws StorageException {
        byte[] k = utf8(redisKey(key));
        if (metaKeys.isEmpty()) {
            execute("delete", jedis -> jedis.unlink(k));
            return;
        }
        byte[] member = utf8(key);
        execute("delete", jedis -> BatchCommands.run(jedis, c -> {
            c.check(c.unlink(k));
            double now = clock.millis();
            for (String mk : metaKeys) {
                byte[] m = utf8(mk);
                c.check(c.zrem(m, member));
                c.check(c.zremrangeByScore(m, now));
            }
            return () -> null;
        }));
    }

    @Override
    public boolean supportsMetadata() {
        return true;
    }

    /**
     * The subject's live sessions. Each listed key is checked with PTTL, so the expiry is Redis's
     * own (a renewed, stale key shows its shortened expiry) and keys deleted without metadata are
     * left out and removed from the set.
     */
    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        byte[] mk = utf8(metadataKey(Objects.requireNonNull(audience, "audience"),
                Objects.requireNonNull(subject, "subject")));
        return execute("list", jedis -> {
            long now = clock.millis();
            List<Tuple> members = jedis.zrangeByScoreWithScores(mk, now, Double.POSITIVE_INFINITY);
            if (members.isEmpty()) {
                return Map.of();
            }
            List<Supplier<Long>> ttls = new ArrayList<>(members.size());
            BatchCommands.run(jedis, c -> {
                for (Tuple t : members) {
                    ttls.add(c.pttl(utf8(redisKey(new String(t.getBinaryElement(), StandardCharsets.UTF_8)))));
                }
                return () -> null;
            });
            Map<String, Instant> out = new HashMap<>();
            List<byte[]> gone = new ArrayList<>();
            for (int i = 0; i < members.size(); i++) {
                Tuple t = members.get(i);
                long pttl = ttls.get(i).get();
                String member = new String(t.getBinaryElement(), StandardCharsets.UTF_8);
                if (pttl >= 0) {
                    out.put(member, Instant.ofEpochMilli(now + pttl));
                } else if (pttl == -1) {
                    out.put(member, Instant.ofEpochMilli((long) t.getScore()));
                } else {
                    gone.add(t.getBinaryElement());
                }
            }
            if (!gone.isEmpty()) {
                jedis.zrem(mk, gone.toArray(new byte[0][]));
            }
            return Map.copyOf(out);
        });
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

    // ---------------------------------------------------------------- calls

    /** Kept for {@link RedisSharedState}, whose calls go through this storage's outage handling. */
    @FunctionalInterface
    interface Call<T> extends RedisCalls.Call<T> {
    }

    /** See {@link RedisCalls#execute}. */
    <T> T execute(String operation, Call<T> call) throws StorageException {
        return calls.execute(operation, call);
    }

    /** See {@link RedisCalls#clientOrNull}. */
    UnifiedJedis clientOrNull() {
        return calls.clientOrNull();
    }

    /** Kept for the feeds' log lines; see {@link RedisCalls#describe}. */
    static String describe(Throwable e) {
        return RedisCalls.describe(e);
    }

    // ---------------------------------------------------------------- helpers

    private Set<String> metadataKeys(SessionMetadata metadata) {
        if (metadata == null || metadata.entries().isEmpty()) {
            return Set.of();
        }
        Set<String> keys = new LinkedHashSet<>();
        for (SessionMetadata.Entry e : metadata.entries()) {
            keys.add(metadataKey(e.audience(), e.subject()));
        }
        return keys;
    }

    private static long millis(Duration d) {
        if (d.compareTo(Duration.ofMillis(MAX_TTL_MILLIS)) > 0) {
            return MAX_TTL_MILLIS;
        }
        long ms = d.toMillis();
        // a positive sub-millisecond TTL must not become 0 (which would delete at once)
        return ms == 0 && !d.isZero() ? 1 : ms;
    }

    /** Kept for {@link RedisSharedState}'s static import. */
    static byte[] utf8(String s) {
        return RedisKeys.utf8(s);
    }
}
