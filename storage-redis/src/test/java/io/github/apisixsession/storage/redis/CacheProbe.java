package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.apisixsession.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import redis.clients.jedis.Jedis;

/** Waiting on a storage's client cache and reading what the server saw, for the cache tests. */
final class CacheProbe {

    /** Generous: the machine is shared and busy; a correct cache gets there in milliseconds. */
    static final long DEADLINE_MILLIS = 15_000;

    private CacheProbe() {
    }

    /** Starts the storage's invalidation feed (a first read does) and waits until it tracks. */
    static void awaitTracking(RedisSessionStorage storage) throws StorageException {
        storage.get("probe:start-tracking");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (!storage.invalidationFeed().live()) {
            if (System.nanoTime() > deadline) {
                fail("the client cache did not start tracking: " + storage.clientCacheStatistics());
            }
            RedisProcess.sleep(10);
        }
    }

    /**
     * Waits until the storage's cache has been dropped since it counted {@code resets}. Reads may
     * bypass the cache before that (the tracked master changed, or the generation ended), so a
     * fresh value read is no proof that the drop has been counted yet.
     */
    static void awaitReset(RedisSessionStorage storage, long resets, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (storage.clientCacheStatistics().resets() <= resets) {
            if (System.nanoTime() > deadline) {
                fail(what + ": " + storage.clientCacheStatistics());
            }
            RedisProcess.sleep(5);
        }
    }

    @FunctionalInterface
    interface Read {
        Optional<byte[]> get() throws StorageException;
    }

    /** Reads until {@code accepted} holds (a StorageException counts as a null value), failing after the deadline. */
    static String eventually(Read read, Predicate<String> accepted, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        String last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = read.get().map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
            } catch (StorageException e) {
                last = "StorageException: " + e.getMessage();
            }
            if (accepted.test(last)) {
                return last;
            }
            RedisProcess.sleep(5);
        }
        throw new AssertionError(what + " (last read: " + last + ")");
    }

    /** How many times the server ran {@code command} (INFO commandstats). */
    static long calls(Jedis admin, String command) {
        for (String line : admin.info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_" + command + ":calls=")) {
                String n = line.substring(line.indexOf('=') + 1);
                return Long.parseLong(n.substring(0, n.indexOf(',')));
            }
        }
        return 0;
    }

    /**
     * Reads {@code key} until a read is served from the cache (a write's own invalidation message
     * may still be on its way and drop the first copy).
     */
    static void cache(RedisSessionStorage storage, String key) throws StorageException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (true) {
            long hits = storage.clientCacheStatistics().hits();
            assertTrue(storage.get(key).isPresent(), "a value under " + key);
            if (storage.clientCacheStatistics().hits() > hits) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("never served from the cache: " + storage.clientCacheStatistics());
            }
        }
    }

    /** Kills the invalidation connections of the server's clients, returning how many. */
    static int killTrackingConnections(Jedis admin) {
        int killed = 0;
        for (String line : admin.clientList().split("\n")) {
            if (line.contains("name=" + RedisClients.TRACKING_CLIENT_NAME + " ")) {
                String id = line.substring(line.indexOf("id=") + 3, line.indexOf(' '));
                admin.clientKill(new redis.clients.jedis.params.ClientKillParams().id(id));
                killed++;
            }
        }
        return killed;
    }
}
