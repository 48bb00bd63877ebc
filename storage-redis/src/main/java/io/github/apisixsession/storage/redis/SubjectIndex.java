package io.github.apisixsession.storage.redis;

import static io.github.apisixsession.storage.redis.RedisKeys.utf8;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.Tuple;

/**
 * Subject metadata: a sorted set per (audience, subject),
 * {@code [prefix:]@meta:<audience>:<subject>[:suffix]} ({@code %} and {@code :} escaped), whose
 * members are session keys scored by their expiry in epoch milliseconds. Every write trims
 * expired members and keeps the set alive as long as its longest session, in one atomic
 * one-key script (so it works on a Cluster too).
 */
final class SubjectIndex {

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

    private final RedisKeys keys;
    private final RedisCalls calls;
    private final Clock clock;

    SubjectIndex(RedisKeys keys, RedisCalls calls, Clock clock) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.calls = Objects.requireNonNull(calls, "calls");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The sets a session with {@code metadata} belongs to; empty for none. */
    Set<String> setsOf(SessionMetadata metadata) {
        if (metadata == null || metadata.entries().isEmpty()) {
            return Set.of();
        }
        Set<String> sets = new LinkedHashSet<>();
        for (SessionMetadata.Entry e : metadata.entries()) {
            sets.add(keys.metadata(e.audience(), e.subject()));
        }
        return sets;
    }

    /**
     * Queues adding session {@code key} to {@code sets} until its expiry, and shortening the
     * replaced session {@code oldKey} ('' for none) to its stale expiry.
     */
    void queueAdd(BatchCommands c, Set<String> sets, String key, long ttlMillis, String oldKey, long staleMillis) {
        if (sets.isEmpty()) {
            return;
        }
        long now = clock.millis();
        String expiry = Long.toString(now + ttlMillis);
        String staleExpiry = Long.toString(now + staleMillis);
        for (String mk : sets) {
            c.check(c.eval(META_ADD, utf8(mk), Long.toString(now), key, expiry, oldKey, staleExpiry));
        }
    }

    /** Queues removing session {@code member} from {@code sets}, trimming their expired members too. */
    void queueRemove(BatchCommands c, Set<String> sets, byte[] member) {
        double now = clock.millis();
        for (String mk : sets) {
            byte[] m = utf8(mk);
            c.check(c.zrem(m, member));
            c.check(c.zremrangeByScore(m, now));
        }
    }

    /**
     * The subject's live sessions. Each listed key is checked with PTTL, so the expiry is Redis's
     * own (a renewed, stale key shows its shortened expiry) and keys deleted without metadata are
     * left out and removed from the set.
     */
    Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        byte[] mk = utf8(keys.metadata(Objects.requireNonNull(audience, "audience"),
                Objects.requireNonNull(subject, "subject")));
        return calls.execute("list", jedis -> live(jedis, mk));
    }

    private Map<String, Instant> live(UnifiedJedis jedis, byte[] mk) {
        long now = clock.millis();
        List<Tuple> members = jedis.zrangeByScoreWithScores(mk, now, Double.POSITIVE_INFINITY);
        if (members.isEmpty()) {
            return Map.of();
        }
        List<Supplier<Long>> ttls = ttls(jedis, members);
        Map<String, Instant> out = new HashMap<>();
        List<byte[]> gone = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            Tuple t = members.get(i);
            long pttl = ttls.get(i).get();
            String member = member(t);
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
    }

    /** The PTTL of each member's session key, in one batch. */
    private List<Supplier<Long>> ttls(UnifiedJedis jedis, List<Tuple> members) {
        List<Supplier<Long>> ttls = new ArrayList<>(members.size());
        BatchCommands.run(jedis, c -> {
            for (Tuple t : members) {
                ttls.add(c.pttl(utf8(keys.session(member(t)))));
            }
            return () -> null;
        });
        return ttls;
    }

    private static String member(Tuple t) {
        return new String(t.getBinaryElement(), StandardCharsets.UTF_8);
    }
}
