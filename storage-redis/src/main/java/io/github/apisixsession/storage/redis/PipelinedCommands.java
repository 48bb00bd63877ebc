package io.github.apisixsession.storage.redis;

import java.util.function.Supplier;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.args.ExpiryOption;
import redis.clients.jedis.params.SetParams;

/** A batch's commands queued in one pipeline: their replies come with its sync. */
final class PipelinedCommands extends BatchCommands {

    private final AbstractPipeline p;

    PipelinedCommands(AbstractPipeline p) {
        this.p = p;
    }

    @Override
    Supplier<byte[]> get(byte[] key) {
        return p.get(key)::get;
    }

    @Override
    Supplier<String> set(byte[] key, byte[] value, long pxMillis) {
        return p.set(key, value, SetParams.setParams().px(pxMillis))::get;
    }

    @Override
    Supplier<Long> pexpireLt(byte[] key, long millis) {
        return p.pexpire(key, millis, ExpiryOption.LT)::get;
    }

    @Override
    Supplier<Object> eval(byte[] script, byte[] key, String... args) {
        return p.eval(script, 1, args(key, args))::get;
    }

    @Override
    Supplier<Long> unlink(byte[] key) {
        return p.unlink(key)::get;
    }

    @Override
    Supplier<Long> zrem(byte[] key, byte[] member) {
        return p.zrem(key, member)::get;
    }

    @Override
    Supplier<Long> zremrangeByScore(byte[] key, double max) {
        return p.zremrangeByScore(key, Double.NEGATIVE_INFINITY, max)::get;
    }

    @Override
    Supplier<Long> pttl(byte[] key) {
        return p.pttl(key)::get;
    }
}
