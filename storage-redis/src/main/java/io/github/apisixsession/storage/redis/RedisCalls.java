package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.OutageGuard;
import io.github.apisixsession.storage.OutageLog;
import io.github.apisixsession.storage.StorageException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * The storage's calls to Redis, each reported to its {@link OutageGuard}. Every call waits at
 * most about {@code pool_wait + connect_timeout + read_timeout} and then fails with a
 * {@link StorageException}. A pooled connection that turns out dead (Redis restarted) is replaced
 * at once and the idempotent command retried, so recovery needs no request to fail.
 */
final class RedisCalls {

    /** The storage's logger: these lines kept their logger name when they moved here. */
    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionStorage.class);

    @FunctionalInterface
    interface Call<T> {
        T apply(UnifiedJedis jedis);
    }

    private final RedisSettings settings;
    private final LazyRedisClient client;
    /** The outage log and the circuit breaker of the request-path calls. */
    private final OutageGuard guard;

    RedisCalls(RedisSettings settings, LazyRedisClient client) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.client = Objects.requireNonNull(client, "client");
        // real time: the breaker's cool-down and the log's interval are not session time
        this.guard = new OutageGuard("redis storage (" + settings.describe() + ")", settings.circuitBreaker(),
                Clock.systemUTC(), OutageLog.Sink.of(LOG::warn, LOG::info));
    }

    /**
     * Runs {@code call}, turning every failure into a {@link StorageException}. A connection that
     * fails at once (not a timeout, not a refused connect: a pooled connection Redis closed) is
     * retried on another one while the read timeout has not passed; every command here is
     * idempotent.
     */
    <T> T execute(String operation, Call<T> call) throws StorageException {
        long start = System.nanoTime();
        long budget = TimeUnit.MILLISECONDS.toNanos(settings.readTimeoutMillis());
        guard.acquire();
        UnifiedJedis jedis = client();
        int attempts = attempts(jedis);
        for (int attempt = 1; ; attempt++) {
            try {
                T result = call.apply(jedis);
                guard.reached();
                return result;
            } catch (JedisConnectionException e) {
                if (attempt < attempts && staleConnection(e) && System.nanoTime() - start < budget && !client.closed()) {
                    LOG.debug("redis storage ({}): dropped a dead pooled connection: {}", settings.describe(), describe(e));
                    if (attempt == 1 && jedis instanceof JedisPooled pooled) {
                        // the other idle connections died with it (a restart): drop them all at once
                        pooled.getPool().clear();
                    }
                    continue;
                }
                throw failure(operation, e);
            } catch (RuntimeException e) {
                throw failure(operation, e);
            }
        }
    }

    /**
     * Cluster: Jedis retries itself. Standalone: the pool is cleared after the first dead
     * connection, so one retry gets a fresh one. Sentinel: the pool is out of reach, so every
     * idle connection may have to be tried (each fails at once).
     */
    private int attempts(UnifiedJedis jedis) {
        return jedis instanceof JedisCluster ? 1 : jedis instanceof JedisPooled ? 2 : settings.dataPoolSize() + 1;
    }

    private StorageException failure(String operation, RuntimeException e) {
        if (client.closed()) {
            return new StorageException("redis storage is closed");
        }
        if (e instanceof JedisDataException) {
            // a server error reply (WRONGTYPE, OOM, …) is an answer, not an outage: the engine logs it
            guard.reached();
        } else {
            guard.unreachable(describe(e));
        }
        return new StorageException("redis " + operation + " failed (" + settings.describe() + "): " + describe(e), e);
    }

    /**
     * The client, built now if it could not be before, or null while Redis is unreachable: the
     * shared-state feed finds its Sentinel master or Cluster nodes through it even when no request
     * has come to build it.
     */
    UnifiedJedis clientOrNull() {
        try {
            return client();
        } catch (StorageException e) {
            return null;
        }
    }

    /** The client; a failed build counts as an outage. */
    private UnifiedJedis client() throws StorageException {
        return client.get(e -> failure("connect", e));
    }

    /**
     * A broken pooled connection fails at once; a timeout, a refused connect or a TLS failure means
     * Redis is away or misconfigured, and retrying would only add waiting.
     */
    private static boolean staleConnection(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SocketTimeoutException || t instanceof ConnectException
                    || t instanceof NoRouteToHostException || t instanceof UnknownHostException
                    || t instanceof NoSuchElementException || t instanceof javax.net.ssl.SSLException) {
                return false;
            }
            String m = t.getMessage();
            if (m != null && (m.contains("Could not get a resource") || m.contains("Failed to connect"))) {
                return false;
            }
        }
        return true;
    }

    /** Class and message of the failure and its root cause; Jedis messages hold no keys or passwords. */
    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder(e.getClass().getSimpleName());
        if (e.getMessage() != null) {
            b.append(": ").append(e.getMessage());
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != e) {
            b.append(" (").append(root.getClass().getSimpleName());
            if (root.getMessage() != null) {
                b.append(": ").append(root.getMessage());
            }
            b.append(')');
        }
        return b.toString();
    }
}
