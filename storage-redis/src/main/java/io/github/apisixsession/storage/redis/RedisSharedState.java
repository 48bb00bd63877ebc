package io.github.apisixsession.storage.redis;

import static io.github.apisixsession.storage.redis.RedisKeys.utf8;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedStateFeeds;
import io.github.apisixsession.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.Tuple;

/**
 * {@link SharedSessionState} in Redis (issue 13), through the storage's client and outage handling.
 *
 * <ul>
 *   <li>Revocations: one sorted set {@code [prefix:]@{state}:revoked[:suffix]}, member the id,
 *       score its {@code until} in epoch ms; every write trims what has expired and keeps the set
 *       alive as long as its latest member.</li>
 *   <li>Markers: a hash {@code [prefix:]@{state}:markers[:suffix]}, field
 *       {@code <base64url audience>:<base64url subject or *>}, value {@code <issuedBefore ms>:<until ms>},
 *       with a sorted set {@code [prefix:]@{state}:marker-expiry[:suffix]} of the same fields by
 *       {@code until} to trim them. A script moves a marker only forward.</li>
 *   <li>Counters: {@code [prefix:]@count:<base64url name>[:suffix]}, INCR with the TTL set on creation.</li>
 *   <li>Every change is published, by the same script that makes it, on the channel
 *       {@code [prefix:]@state:<database>} ({@link RedisStateFeed}).</li>
 * </ul>
 *
 * <p>Why one sorted set rather than a key per revocation: a full reload is then a few range reads
 * of one key instead of a SCAN over every session key of the database, and on a Cluster the
 * {@code {state}} hash tag keeps the revocations and markers in one slot, so the scripts are atomic
 * there too. Plain PUBLISH (not SPUBLISH) because a Cluster delivers it to subscribers on every
 * node, and it is replicated to Sentinel replicas: a subscriber may listen on any node.
 */
final class RedisSharedState implements SharedSessionState, AutoCloseable {

    /** Page size of the snapshot's range reads. */
    static final int PAGE = 1000;

    /** KEYS[1] revocations; ARGV now ms, id, until ms, channel, message. */
    private static final byte[] REVOKE = utf8("""
            local now = tonumber(ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
            local u = tonumber(ARGV[3])
            if u <= now then return 0 end
            local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
            if s and tonumber(s) >= u then return 0 end
            redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
            local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
            redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(last[2]) - now))
            redis.call('PUBLISH', ARGV[4], ARGV[5])
            return 1""");

    /** KEYS[1] markers, KEYS[2] their expiries; ARGV now ms, field, issuedBefore ms, until ms, channel, message. */
    private static final byte[] MARK = utf8("""
            local now = tonumber(ARGV[1])
            local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
            if #gone > 0 then
              redis.call('HDEL', KEYS[1], unpack(gone))
              redis.call('ZREM', KEYS[2], unpack(gone))
            end
            local u = tonumber(ARGV[4])
            if u <= now then return 0 end
            local cur = redis.call('HGET', KEYS[1], ARGV[2])
            if cur then
              local ib = tonumber(string.match(cur, '^(-?%d+)'))
              local exp = redis.call('ZSCORE', KEYS[2], ARGV[2])
              if ib >= tonumber(ARGV[3]) and exp and tonumber(exp) > now then return 0 end
            end
            redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. ':' .. ARGV[4])
            redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
            local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
            local ttl = math.ceil(tonumber(last[2]) - now)
            redis.call('PEXPIRE', KEYS[1], ttl)
            redis.call('PEXPIRE', KEYS[2], ttl)
            redis.call('PUBLISH', ARGV[5], ARGV[6])
            return 1""");

    /** KEYS[1] the counter; ARGV ttl ms. */
    private static final byte[] INCREMENT = utf8("""
            local v = redis.call('INCR', KEYS[1])
            if v == 1 or redis.call('PTTL', KEYS[1]) == -1 then
              redis.call('PEXPIRE', KEYS[1], ARGV[1])
            end
            return v""");

    private final RedisSessionStorage storage;
    private final Supplier<UnifiedJedis> client;
    private final Clock clock;
    private final byte[] revokedKey;
    private final byte[] markersKey;
    private final byte[] markerExpiryKey;
    private final String channel;
    private final SharedStateFeeds feeds = new SharedStateFeeds("redis storage");

    RedisSharedState(RedisSessionStorage storage, Supplier<UnifiedJedis> client, Clock clock) {
        this.storage = Objects.requireNonNull(storage, "storage");
        this.client = Objects.requireNonNull(client, "client");
        this.clock = Objects.requireNonNull(clock, "clock");
        // '@' cannot start a cookie name, so these never meet a session key
        this.revokedKey = utf8(storage.redisKey("@{state}:revoked"));
        this.markersKey = utf8(storage.redisKey("@{state}:markers"));
        this.markerExpiryKey = utf8(storage.redisKey("@{state}:marker-expiry"));
        RedisSettings s = storage.settings();
        // pub/sub ignores the database: keep two databases' runners apart
        this.channel = (s.prefix() == null ? "" : s.prefix() + ":") + "@state:"
                + (s.mode() == RedisSettings.Mode.CLUSTER ? 0 : s.database());
    }

    /** The pub/sub channel every change is published on. */
    String channel() {
        return channel;
    }

    @Override
    public void revoke(String id, Instant until) throws StorageException {
        Objects.requireNonNull(id, "id");
        String message = StateMessage.revoked(new Revocation(id, until));
        long now = clock.millis();
        storage.execute("revoke", jedis -> jedis.eval(REVOKE, 1, revokedKey, utf8(Long.toString(now)), utf8(id),
                utf8(Long.toString(until.toEpochMilli())), utf8(channel), utf8(message)));
    }

    @Override
    public void revokeIssuedBefore(String audience, String subject, Instant issuedBefore, Instant until)
            throws StorageException {
        Marker m = new Marker(audience, subject, issuedBefore, until);
        long now = clock.millis();
        storage.execute("mark", jedis -> jedis.eval(MARK, 2, markersKey, markerExpiryKey, utf8(Long.toString(now)),
                utf8(StateMessage.markerField(audience, subject)), utf8(Long.toString(issuedBefore.toEpochMilli())),
                utf8(Long.toString(until.toEpochMilli())), utf8(channel), utf8(StateMessage.marked(m))));
    }

    @Override
    public long increment(String counter, Duration ttl) throws StorageException {
        byte[] key = counterKey(counter);
        long ttlMillis = Math.max(1, ttl.toMillis());
        Object v = storage.execute("count", jedis -> jedis.eval(INCREMENT, 1, key, utf8(Long.toString(ttlMillis))));
        return (Long) v;
    }

    @Override
    public void reset(String counter) throws StorageException {
        byte[] key = counterKey(counter);
        storage.execute("reset", jedis -> jedis.del(key));
    }

    private byte[] counterKey(String counter) {
        return utf8(storage.redisKey("@count:" + StateMessage.encode(Objects.requireNonNull(counter, "counter"))));
    }

    @Override
    public Snapshot snapshot() throws StorageException {
        long now = clock.millis();
        List<Revocation> revocations = storage.execute("snapshot", jedis -> revocations(jedis, now));
        Map<byte[], byte[]> fields = storage.execute("snapshot", jedis -> jedis.hgetAll(markersKey));
        List<Marker> markers = new ArrayList<>(fields.size());
        for (Map.Entry<byte[], byte[]> f : fields.entrySet()) {
            Marker m = StateMessage.marker(new String(f.getKey(), StandardCharsets.UTF_8),
                    new String(f.getValue(), StandardCharsets.UTF_8));
            if (m != null && m.until().toEpochMilli() > now) {
                markers.add(m);
            }
        }
        return new Snapshot(revocations, markers);
    }

    /**
     * The revocations still in force, a page at a time by score: the next page starts at the last
     * score seen, skipping the members of that score already read (members of one score come in
     * lexicographic order), so trims and inserts between pages lose nothing that was there before.
     */
    private List<Revocation> revocations(UnifiedJedis jedis, long now) {
        List<Revocation> out = new ArrayList<>();
        byte[] min = utf8("(" + now);
        int skip = 0;
        while (true) {
            List<Tuple> page = jedis.zrangeByScoreWithScores(revokedKey, min, utf8("+inf"), skip, PAGE);
            for (Tuple t : page) {
                out.add(new Revocation(new String(t.getBinaryElement(), StandardCharsets.UTF_8),
                        Instant.ofEpochMilli((long) t.getScore())));
            }
            if (page.size() < PAGE) {
                return out;
            }
            double last = page.get(page.size() - 1).getScore();
            int sameScore = 0;
            for (int i = page.size() - 1; i >= 0 && page.get(i).getScore() == last; i--) {
                sameScore++;
            }
            byte[] next = utf8(Long.toString((long) last));
            skip = java.util.Arrays.equals(next, min) ? skip + sameScore : sameScore;
            min = next;
        }
    }

    @Override
    public AutoCloseable watch(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        return feeds.open(() -> new RedisStateFeed(storage.settings(), client, channel, listener));
    }

    /** Stops every feed; the commands fail from now on with the storage's "closed" error. */
    @Override
    public void close() {
        feeds.close();
    }
}
