package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.StorageException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;

/**
 * The storage's Jedis client. Sentinel and Cluster clients ask for the topology when they are
 * built, so one that could not be built at start is built on first use, at most once a second.
 */
final class LazyRedisClient implements AutoCloseable {

    /** The storage's logger: these lines kept their logger name when they moved here. */
    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionStorage.class);
    /** After a failed attempt to build a Sentinel or Cluster client, requests fail fast this long. */
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final RedisSettings settings;
    private final Supplier<UnifiedJedis> factory;
    private final ReentrantLock connecting = new ReentrantLock();
    private volatile UnifiedJedis client;
    private volatile boolean closed;
    private long nextAttempt;
    private String lastError = "";

    /** Builds the client now if Redis answers; otherwise on first use. */
    LazyRedisClient(RedisSettings settings, Supplier<UnifiedJedis> factory) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.factory = Objects.requireNonNull(factory, "factory");
        try {
            client = factory.get();
        } catch (RuntimeException e) {
            // Sentinel/Cluster ask for the topology at once; the storage works once Redis answers
            LOG.warn("redis storage ({}) not reachable yet, will retry on use: {}", settings.describe(),
                    RedisCalls.describe(e));
            lastError = RedisCalls.describe(e);
            nextAttempt = System.nanoTime() + RETRY_NANOS;
        }
    }

    /** The client as built so far, null if not yet: never builds it (the client cache's node lookup). */
    UnifiedJedis current() {
        return client;
    }

    boolean closed() {
        return closed;
    }

    /**
     * The client, built now if building it failed before (at most once a second).
     *
     * @param failed what a failed build becomes; the caller reports it as an outage
     */
    UnifiedJedis get(Function<RuntimeException, StorageException> failed) throws StorageException {
        UnifiedJedis c = client;
        if (c != null) {
            return c;
        }
        if (closed) {
            throw new StorageException("redis storage is closed");
        }
        if (!connecting.tryLock()) {
            throw new StorageException("redis storage (" + settings.describe() + ") is connecting");
        }
        try {
            c = client;
            if (c != null || closed) {
                if (c == null) {
                    throw new StorageException("redis storage is closed");
                }
                return c;
            }
            if (System.nanoTime() - nextAttempt < 0) {
                throw new StorageException("redis storage (" + settings.describe() + ") unreachable: " + lastError);
            }
            try {
                c = factory.get();
            } catch (RuntimeException e) {
                lastError = RedisCalls.describe(e);
                nextAttempt = System.nanoTime() + RETRY_NANOS;
                throw failed.apply(e);
            }
            client = c;
            LOG.info("redis storage ({}) connected", settings.describe());
            return c;
        } finally {
            connecting.unlock();
        }
    }

    /**
     * From now on calls fail as closed, not as an outage; the client itself stays open until
     * {@link #close()}, after what still uses it (shared state, client cache) has stopped.
     */
    void closing() {
        closed = true;
    }

    @Override
    public void close() {
        closed = true;
        connecting.lock();
        try {
            UnifiedJedis c = client;
            client = null;
            if (c != null) {
                c.close();
            }
        } catch (RuntimeException e) {
            LOG.warn("closing redis storage ({}) failed: {}", settings.describe(), RedisCalls.describe(e));
        } finally {
            connecting.unlock();
        }
    }
}
