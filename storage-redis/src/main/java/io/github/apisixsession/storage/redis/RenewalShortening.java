package io.github.apisixsession.storage.redis;

import static io.github.apisixsession.storage.redis.RedisKeys.utf8;

import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Renewal shortens the old key to {@code stale_ttl} only if it would live longer:
 * {@code PEXPIRE old ms LT} on Redis 7, a one-key script on older servers (detected on first
 * use). Both go in the same pipeline as the SET.
 */
final class RenewalShortening {

    /** The storage's logger: this line kept its logger name when it moved here. */
    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionStorage.class);

    /** Shortens KEYS[1] to ARGV[1] ms if it lives longer (PEXPIRE … LT before Redis 7). */
    static final byte[] SHORTEN = utf8("""
            local t = redis.call('PTTL', KEYS[1])
            if t == -1 or t > tonumber(ARGV[1]) then
              return redis.call('PEXPIRE', KEYS[1], ARGV[1])
            end
            return 0""");

    private final RedisSettings settings;
    /** null: not known yet; whether the server understands PEXPIRE … LT (Redis 7+). */
    private volatile Boolean expireLt;

    /** @param expireLt null to detect PEXPIRE … LT support, false to always use the script (tests) */
    RenewalShortening(RedisSettings settings, Boolean expireLt) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.expireLt = expireLt;
    }

    /**
     * Queues the shortening of {@code oldKey} in the batch. The answer, read once the batch ran,
     * is whether the server turned out to lack PEXPIRE … LT, so that {@link #byScript} must follow.
     */
    Supplier<Boolean> queue(BatchCommands c, byte[] oldKey, long staleMillis) {
        if (Boolean.FALSE.equals(expireLt)) {
            c.check(c.eval(SHORTEN, oldKey, Long.toString(staleMillis)));
            return () -> false;
        }
        Supplier<Long> lt = c.pexpireLt(oldKey, staleMillis);
        return () -> !expireLtWorked(lt);
    }

    /** The shortening by script, when the batch's PEXPIRE … LT was not understood. */
    Object byScript(UnifiedJedis jedis, byte[] oldKey, long staleMillis) {
        return jedis.eval(SHORTEN, 1, oldKey, utf8(Long.toString(staleMillis)));
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
}
