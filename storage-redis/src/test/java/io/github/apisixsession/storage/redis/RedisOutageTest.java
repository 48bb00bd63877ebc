package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.CircuitOpenException;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.testing.Causes;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Redis down, slow or restarted, against a {@code redis-server} of the test's own: every call
 * ends with a {@link StorageException}, and the storage recovers by itself, losing nothing. What
 * ended each call is asserted rather than how long it took: the configured read timeout or pool
 * wait (so it waited that long and no longer) for a Redis that does not answer, a refused or reset
 * connection (no wait) for a stopped one. {@code @Timeout} only turns a hang into a failure.
 */
@RequiresService(RedisBinaries.class)
@Timeout(120)
class RedisOutageTest {

    /** Long enough that a loaded machine does not time out a healthy Redis. */
    private static final int TIMEOUT = 800;
    /** What ends a call to a Redis that does not answer: the read timeout, or the pool wait. */
    private static final List<Class<? extends Throwable>> TIMED_OUT =
            List.of(SocketTimeoutException.class, NoSuchElementException.class);

    private RedisProcess redis;
    private RedisSessionStorage storage;

    @AfterEach
    void stop() {
        if (storage != null) {
            storage.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private RedisSessionStorage storage(int port, Object... kv) {
        List<Object> all = new ArrayList<>(List.of("port", port, "connect_timeout", TIMEOUT, "read_timeout", TIMEOUT,
                "pool_wait", TIMEOUT, "prefix", "outage"));
        all.addAll(List.of(kv));
        return new RedisSessionStorage(LocalRedis.settings(all.toArray()), Clock.systemUTC());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The call fails, ended by the read timeout or the pool wait. */
    private static StorageException timesOut(Executable call) {
        return Causes.assertCausedBy(assertThrows(StorageException.class, call), TIMED_OUT);
    }

    /** The call fails at once: a refused or reset connection, no timeout waited for. */
    private static StorageException failsAtOnce(Executable call) {
        return Causes.assertNotCausedBy(assertThrows(StorageException.class, call), TIMED_OUT);
    }

    @Test
    void pausedRedisFailsEachCallWithinTheTimeoutAndKeepsItsSessions() throws Exception {
        redis = RedisProcess.launch();
        storage = storage(redis.port());
        storage.set("session:before", bytes("kept"), Duration.ofHours(1));

        redis.pause(); // SIGSTOP: connected sockets, no answers
        try {
            for (int i = 0; i < 3; i++) {
                timesOut(() -> storage.get("session:before"));
            }
            timesOut(() -> storage.set("session:during", bytes("x"), Duration.ofHours(1)));
        } finally {
            redis.resume();
        }

        assertArrayEquals(bytes("kept"), storage.get("session:before").orElseThrow(), "recovered, nothing lost");
    }

    @Test
    void concurrentCallsDuringAPauseAreBoundedByThePoolWait() throws Exception {
        redis = RedisProcess.launch();
        // the breaker off: every call must reach the pool (its own tests are below)
        storage = storage(redis.port(), "pool_size", 2, "circuit_breaker_failures", 0);
        storage.set("session:a", bytes("v"), Duration.ofHours(1));
        redis.pause();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<StorageException>> calls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                calls.add(pool.submit(() -> timesOut(() -> storage.get("session:a"))));
            }
            int poolWaits = 0;
            for (Future<StorageException> f : calls) {
                poolWaits += Causes.any(f.get(30, TimeUnit.SECONDS), List.of(NoSuchElementException.class)) ? 1 : 0;
            }
            assertTrue(poolWaits > 0, "with 2 connections for 8 calls, some were ended by the pool wait");
        } finally {
            redis.resume();
            pool.shutdownNow();
        }
        assertArrayEquals(bytes("v"), storage.get("session:a").orElseThrow());
    }

    @Test
    void slowRedisTimesOut() throws Exception {
        redis = RedisProcess.launch();
        storage = storage(redis.port());
        storage.set("session:a", bytes("v"), Duration.ofHours(1));
        // every client's commands wait 3 s (CLIENT PAUSE answers at once, so the pause is in force)
        assertEquals("+OK", redis.command("CLIENT", "PAUSE", "3000"));
        Causes.assertCausedBy(assertThrows(StorageException.class, () -> storage.get("session:a")),
                List.of(SocketTimeoutException.class));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                assertArrayEquals(bytes("v"), storage.get("session:a").orElseThrow(), "nothing lost");
                break;
            } catch (StorageException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
        }
    }

    @Test
    void stoppedRedisFailsFastAndARestartWithItsDataIsPickedUpWithoutAFailedCall() throws Exception {
        redis = RedisProcess.launch("--appendonly", "yes", "--appendfsync", "always");
        storage = storage(redis.port(), "pool_size", 4);
        storage.set("session:before", bytes("kept"), Duration.ofHours(1));
        // fill the pool with idle connections, which the restart will break
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                calls.add(pool.submit(() -> {
                    storage.get("session:before");
                    return null;
                }));
            }
            for (Future<?> f : calls) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        redis.stop();
        // The client cache may answer a key it holds until its invalidation connection is seen
        // closed (a dead Redis changes nothing meanwhile, and the heartbeat lease bounds it); from
        // then on every read goes to Redis and fails at once.
        awaitTrackingLost();
        for (int i = 0; i < 3; i++) {
            failsAtOnce(() -> storage.get("session:before"));
        }

        redis.start(); // same port, same dir: the append-only file brings the sessions back
        assertArrayEquals(bytes("kept"), storage.get("session:before").orElseThrow(), "no session lost");
        storage.set("session:after", bytes("new"), Duration.ofHours(1));
        assertArrayEquals(bytes("new"), storage.get("session:after").orElseThrow());
    }

    private void awaitTrackingLost() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CacheProbe.DEADLINE_MILLIS);
        while (storage.invalidationFeed().live()) {
            assertTrue(System.nanoTime() < deadline, "the client cache did not see Redis go: " + storage.clientCacheStatistics());
            RedisProcess.sleep(10);
        }
    }

    @Test
    void afterConsecutiveFailuresTheCircuitOpensAndATrialClosesItOnceRedisIsBack() throws Exception {
        redis = RedisProcess.launch("--appendonly", "yes", "--appendfsync", "always");
        storage = storage(redis.port(), "circuit_breaker_failures", 3, "circuit_breaker_open_for", 300);
        storage.set("session:before", bytes("kept"), Duration.ofHours(1));
        redis.stop();
        for (int i = 0; i < 3; i++) {
            failsAtOnce(() -> storage.get("session:before"));
        }
        // the circuit is open: Redis is not asked, the last cause is named
        CircuitOpenException open = assertThrows(CircuitOpenException.class, () -> storage.get("session:before"));
        assertTrue(open.getMessage().startsWith("circuit open: JedisConnectionException"), open.getMessage());
        assertThrows(CircuitOpenException.class, () -> storage.delete("session:before"));
        // the shared state (issue 13) is behind the same breaker
        assertThrows(CircuitOpenException.class,
                () -> storage.sharedState().orElseThrow().increment("failures", Duration.ofMinutes(1)));

        redis.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        byte[] got = null;
        while (got == null) {
            try {
                got = storage.get("session:before").orElseThrow();
            } catch (CircuitOpenException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50); // until the cool-down has passed and a trial reaches Redis
            }
        }
        assertArrayEquals(bytes("kept"), got, "not deleted while open, nothing lost");
    }

    @Test
    void sharedStateFailuresOpenTheStoragesCircuitToo() throws Exception {
        redis = RedisProcess.launch();
        storage = storage(redis.port(), "circuit_breaker_failures", 3, "circuit_breaker_open_for", 30_000);
        SharedSessionState state = storage.sharedState().orElseThrow();
        state.increment("failures", Duration.ofMinutes(1));
        redis.stop();
        for (int i = 0; i < 3; i++) {
            failsAtOnce(() -> state.revoke("id", Instant.now().plusSeconds(60)));
        }
        assertThrows(CircuitOpenException.class, () -> state.increment("failures", Duration.ofMinutes(1)));
        assertThrows(CircuitOpenException.class, () -> storage.get("session:a"), "one breaker per storage");
    }

    @Test
    void restartWhileIdleCostsNoRequest() throws Exception {
        redis = RedisProcess.launch("--appendonly", "yes", "--appendfsync", "always");
        storage = storage(redis.port(), "pool_size", 4);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int n = i;
                calls.add(pool.submit(() -> {
                    storage.set("session:" + n, bytes("v" + n), Duration.ofHours(1));
                    return null;
                }));
            }
            for (Future<?> f : calls) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        redis.stop();
        redis.start();
        // every pooled connection is dead now; each call must still succeed at once
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(bytes("v" + i), storage.get("session:" + i).orElseThrow());
        }
    }

    @Test
    void unreachableAtStartWorksOnceRedisIsThere() throws Exception {
        int port = RedisProcess.freePort();
        storage = storage(port);
        failsAtOnce(() -> storage.get("session:a"));
        redis = RedisProcess.launch();
        RedisSessionStorage other = storage(redis.port());
        try {
            other.set("session:a", bytes("v"), Duration.ofHours(1));
            assertEquals("v", new String(other.get("session:a").orElseThrow(), StandardCharsets.UTF_8));
        } finally {
            other.close();
        }
    }
}
