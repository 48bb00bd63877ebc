package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * {@link SharedStateITBase} on a {@code redis-server} of the test's own (append-only, fsynced, so a
 * killed server restarts with what it acknowledged), plus the store killed and restarted under load.
 */
@RequiresService(RedisBinaries.class)
class SharedStateRedisIT extends SharedStateITBase {
    private final String prefix = "shared-" + UUID.randomUUID();
    private TestRedisServer redis;

    @Override
    String storeName() {
        return "redis";
    }

    @Override
    Map<String, Object> storeConf() {
        return Map.of("port", redis.port, "prefix", prefix);
    }

    @Override
    void startStore() throws Exception {
        redis = TestRedisServer.start("shared-state-it");
    }

    @Override
    void stopStore() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    /**
     * Three clients (one per runner) send a valid and a logged-out cookie to a fail-closed and a
     * fail-open route while Redis is killed and restarted; a logout sent while it is down waits in
     * its runner's queue. Every request is answered, the logged-out cookie is never served, the
     * queued logout reaches the other runners once Redis is back, and they recover without a restart.
     */
    @Test
    @Order(10)
    void aStoreKilledAndRestartedUnderLoad() throws Exception {
        String valid = login(0, E2e.FIONA_KEY);
        String revoked = login(1, E2e.FIONA_KEY);
        String duringOutage = login(2, E2e.FIONA_KEY);
        assertEquals(200, gateways.get(1).send(ClientRequest.post("/c/x?session_logout").cookie(revoked)).status());
        for (int r = 0; r < RUNNERS; r++) {
            awaitStatus(r, "/c/data", revoked, 401);
        }
        AtomicBoolean stop = new AtomicBoolean();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        List<String> wrong = new ArrayList<>();
        AtomicLong slowestNanos = new AtomicLong();
        AtomicLong requests = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        for (int r = 0; r < RUNNERS; r++) {
            int runner = r;
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    for (String path : List.of("/c/data", "/open/data")) {
                        for (String cookie : List.of(valid, revoked)) {
                            long t0 = System.nanoTime();
                            int status = get(runner, path, cookie).status();
                            slowestNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
                            requests.incrementAndGet();
                            String kind = path + (cookie == valid ? " valid " : " revoked ") + status;
                            seen.add(kind);
                            boolean ok = cookie == valid ? status == 200 || status == 503 : status == 401 || status == 503;
                            if (!ok || (path.equals("/open/data") && status == 503)) {
                                synchronized (wrong) {
                                    wrong.add("runner " + runner + ": " + kind);
                                }
                            }
                        }
                    }
                }
            }, "load-" + r);
            t.start();
            clients.add(t);
        }
        try {
            E2e.sleepSeconds(0.5);
            redis.signal("KILL");
            redis.awaitExit();
            Exchange logout = gateways.get(0).send(ClientRequest.post("/c/x?session_logout").cookie(duringOutage));
            assertEquals(503, logout.status(), "fail closed: the revocation is queued\n" + why(logout, runners.get(0)));
            clock.advance(Duration.ofSeconds(3)); // past the grace of a lost feed
            for (int r = 0; r < RUNNERS; r++) {
                awaitStatus(r, "/c/data", valid, 503);
                awaitStatus(r, "/open/data", valid, 200);
            }
            redis.start();
            for (int r = 0; r < RUNNERS; r++) {
                awaitStatus(r, "/c/data", valid, 200);
                awaitStatus(r, "/c/data", duringOutage, 401);
            }
            E2e.sleepSeconds(0.5);
        } finally {
            stop.set(true);
            for (Thread t : clients) {
                t.join(60_000);
            }
        }
        System.out.printf(Locale.ROOT, "OUTAGE redis killed and restarted: %d requests, slowest %.1f ms, seen %s%n",
                requests.get(), slowestNanos.get() / 1e6, new java.util.TreeSet<>(seen));
        assertTrue(wrong.isEmpty(), "unexpected answers: " + wrong.subList(0, Math.min(20, wrong.size())));
        assertTrue(seen.contains("/c/data valid 503") && seen.contains("/c/data valid 200"), seen.toString());
    }
}
