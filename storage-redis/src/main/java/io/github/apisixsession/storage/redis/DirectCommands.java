package io.github.apisixsession.storage.redis;

import java.util.function.Supplier;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.args.ExpiryOption;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.SetParams;

/** Runs each command at once; a server error is kept and thrown when the reply is read, like a pipeline's. */
final class DirectCommands extends BatchCommands {

    private final UnifiedJedis j;

    DirectCommands(UnifiedJedis j) {
        this.j = j;
    }

    private static <T> Supplier<T> now(Supplier<T> command) {
        T value;
        try {
            value = command.get();
        } catch (JedisDataException e) {
            return () -> {
                throw e;
            };
        }
        return () -> value;
    }

    @Override
    Supplier<byte[]> get(byte[] key) {
        return now(() -> j.get(key));
    }

    @Override
    Supplier<String> set(byte[] key, byte[] value, long pxMillis) {
        Supplier<String> r = now(() -> j.set(key, value, SetParams.setParams().px(pxMillis)));
        r.get();
        return r;
    }

    @Override
    Supplier<Long> pexpireLt(byte[] key, long millis) {
        return now(() -> j.pexpire(key, millis, ExpiryOption.LT));
    }

    @Override
    Supplier<Object> eval(byte[] script, byte[] key, String... args) {
        return now(() -> j.eval(script, 1, args(key, args)));
    }

    @Override
    Supplier<Long> unlink(byte[] key) {
        return now(() -> j.unlink(key));
    }

    @Override
    Supplier<Long> zrem(byte[] key, byte[] member) {
        return now(() -> j.zrem(key, member));
    }

    @Override
    Supplier<Long> zremrangeByScore(byte[] key, double max) {
        return now(() -> j.zremrangeByScore(key, Double.NEGATIVE_INFINITY, max));
    }

    @Override
    Supplier<Long> pttl(byte[] key) {
        return now(() -> j.pttl(key));
    }

    @Override
    void check(Supplier<?> reply) {
        reply.get();
    }
}
