package io.github.apisixsession.storage.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.UnifiedJedis;

/** The commands a batch uses; replies are read after the batch ran. */
abstract class BatchCommands {

    private final List<Supplier<?>> checked = new ArrayList<>();

    /**
     * Runs {@code body} in one pipeline (one round trip) on a standalone or Sentinel master; on a
     * Cluster the commands run one by one, as their keys live in different slots (Jedis's
     * cluster pipeline starts threads for every sync).
     */
    static <T> T run(UnifiedJedis jedis, Body<T> body) {
        if (jedis instanceof JedisCluster) {
            BatchCommands c = new DirectCommands(jedis);
            return body.run(c).get();
        }
        try (AbstractPipeline p = jedis.pipelined()) {
            BatchCommands c = new PipelinedCommands(p);
            Supplier<T> after = body.run(c);
            p.sync();
            c.verify();
            return after.get();
        }
    }

    @FunctionalInterface
    interface Body<T> {
        /** Queues the commands; the supplier runs once they have been answered. */
        Supplier<T> run(BatchCommands c);
    }

    abstract Supplier<byte[]> get(byte[] key);

    abstract Supplier<String> set(byte[] key, byte[] value, long pxMillis);

    abstract Supplier<Long> pexpireLt(byte[] key, long millis);

    abstract Supplier<Object> eval(byte[] script, byte[] key, String... args);

    abstract Supplier<Long> unlink(byte[] key);

    abstract Supplier<Long> zrem(byte[] key, byte[] member);

    abstract Supplier<Long> zremrangeByScore(byte[] key, double max);

    abstract Supplier<Long> pttl(byte[] key);

    /** A reply whose error must fail the batch. */
    void check(Supplier<?> reply) {
        checked.add(reply);
    }

    void verify() {
        for (Supplier<?> s : checked) {
            s.get();
        }
    }

    static byte[][] args(byte[] key, String... args) {
        byte[][] out = new byte[args.length + 1][];
        out[0] = key;
        for (int i = 0; i < args.length; i++) {
            out[i + 1] = RedisKeys.utf8(args[i]);
        }
        return out;
    }
}
