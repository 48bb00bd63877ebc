package io.github.apisixsession.storage.redis;

import static io.github.apisixsession.storage.redis.RedisKeys.utf8;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage.Renewal;
import io.github.apisixsession.storage.StorageException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Writes and deletes a session's string key together with what goes with it (the replaced key's
 * shortening, the subject sets), in one batch: a session is written with its TTL in one
 * {@code SET … PX}.
 */
final class SessionWriter {

    /** Redis accepts up to Long.MAX ms; 100 years is plenty and keeps now + ttl from overflowing. */
    private static final long MAX_TTL_MILLIS = Duration.ofDays(365L * 100).toMillis();

    private final RedisKeys keys;
    private final RedisCalls calls;
    private final RenewalShortening shortening;
    private final SubjectIndex subjects;

    SessionWriter(RedisKeys keys, RedisCalls calls, RenewalShortening shortening, SubjectIndex subjects) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.calls = Objects.requireNonNull(calls, "calls");
        this.shortening = Objects.requireNonNull(shortening, "shortening");
        this.subjects = Objects.requireNonNull(subjects, "subjects");
    }

    /** The SET, the old key's shortening and the metadata, in one batch; {@code renewal} null: none. */
    void write(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
            throws StorageException {
        long ttlMillis = millis(ttl);
        byte[] k = utf8(keys.session(key));
        Set<String> sets = subjects.setsOf(metadata);
        boolean renews = renewal != null;
        byte[] oldK = renews ? utf8(keys.session(renewal.oldKey())) : null;
        long staleMillis = renews ? millis(renewal.staleTtl()) : 0;
        String oldKey = renews ? renewal.oldKey() : "";
        boolean scriptNeeded = calls.execute("write", jedis -> BatchCommands.run(jedis, c -> {
            c.check(c.set(k, value, ttlMillis));
            Supplier<Boolean> script = renews ? shortening.queue(c, oldK, staleMillis) : () -> false;
            subjects.queueAdd(c, sets, key, ttlMillis, oldKey, staleMillis);
            return script;
        }));
        if (scriptNeeded) {
            calls.execute("renew", jedis -> shortening.byScript(jedis, oldK, staleMillis));
        }
    }

    /** UNLINK, and the session's removal from its subject sets in the same batch. */
    void delete(String key, SessionMetadata metadata) throws StorageException {
        Set<String> sets = subjects.setsOf(metadata);
        byte[] k = utf8(keys.session(key));
        if (sets.isEmpty()) {
            calls.execute("delete", jedis -> jedis.unlink(k));
            return;
        }
        byte[] member = utf8(key);
        calls.execute("delete", jedis -> BatchCommands.run(jedis, c -> {
            c.check(c.unlink(k));
            subjects.queueRemove(c, sets, member);
            return () -> null;
        }));
    }

    private static long millis(Duration d) {
        if (d.compareTo(Duration.ofMillis(MAX_TTL_MILLIS)) > 0) {
            return MAX_TTL_MILLIS;
        }
        long ms = d.toMillis();
        // a positive sub-millisecond TTL must not become 0 (which would delete at once)
        return ms == 0 && !d.isZero() ? 1 : ms;
    }
}
