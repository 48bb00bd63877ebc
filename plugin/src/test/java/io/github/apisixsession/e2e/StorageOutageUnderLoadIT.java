package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * A stopped, then a hung Redis under concurrent load, through the runner: every request gets the route's
 * {@code storage_error_status} with the runner's reason, the runner's log holds a few storage
 * warnings rather than one per request (the storage's and the engine's outage logs), most
 * requests are failed at once by the open circuit breaker (counted by the metrics, not timed),
 * and once Redis is back the same cookie works again without a restart and the recovery is
 * logged with its count.
 */
@RequiresService(RedisBinaries.class)
class StorageOutageUnderLoadIT {

    private static final int THREADS = 8;
    private static final String REASON = "{\"message\":\"session storage unavailable\"}";

    @Test
    void aStoppedRedisUnderLoadLogsAFewLinesFailsFastAndRecovers() throws Exception {
        outageUnderLoad("stopped", 4_000, redis -> {
            try (Jedis j = redis.jedis()) {
                j.shutdown();
            } catch (RuntimeException e) {
                // the connection drops as it exits
            }
            redis.awaitExit();
        }, TestRedisServer::start, "Failed to connect");
    }

    /**
     * A hung Redis (SIGSTOP: connections accepted, never answered): without the breaker each
     * request would wait for the read timeout; with it only the few that open it and the trials do.
     */
    @Test
    void aHungRedisUnderLoadHoldsOnlyAFewRequestsForTheTimeout() throws Exception {
        outageUnderLoad("paused", 400, redis -> redis.signal("STOP"), redis -> redis.signal("CONT"),
                "SocketTimeoutException");
    }

    private interface Fault {
        void apply(TestRedisServer redis) throws Exception;
    }

    private void outageUnderLoad(String what, int requests, Fault fault, Fault repair, String cause) throws Exception {
        int metricsPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            metricsPort = probe.getLocalPort();
        }
        try (TestRedisServer redis = TestRedisServer.start("storage-outage-under-load-it-" + what);
             RunnerProcess runner = E2e.start(E2e.runner().env("SESSION_METRICS_ADDRESS", "127.0.0.1:" + metricsPort));
             SimulatedApisix apisix = E2e.gateway(runner)) {
            // no client cache: every request reads Redis, so each one meets the outage
            apisix.route(E2e.apisixRoute("/app/*", "storage", "redis", "reject_status", 401,
                    "redis", Map.of("port", redis.port, "prefix", "load", "connect_timeout", 800, "read_timeout", 800,
                            "pool_wait", 800, "client_cache", false,
                            "circuit_breaker_failures", 5, "circuit_breaker_open_for", 1000)));
            CookieJar jar = E2e.login(apisix, runner, "/app/login");
            assertIdentity(apisix.send(withCookies("/app/data", jar)), runner, "fiona");

            int mark = runner.logs().length();
            long start = System.nanoTime();
            int unavailable;
            try {
                fault.apply(redis);
                unavailable = load(apisix, jar, requests);
            } catch (Exception | Error e) {
                repair.apply(redis);
                throw e;
            }
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            long failedFast = metric(metricsPort, "apisix_session_storage_circuit_open_total{");
            String outage = runner.logs().substring(mark);
            List<String> warnings = outage.lines().filter(l -> l.contains("WARN")).toList();
            System.out.printf("%s Redis, %d requests by %d threads in %d s: %d answered 503, %d failed fast by "
                    + "the open circuit, %d WARN lines in the runner's log%n", what, requests, THREADS, seconds,
                    unavailable, failedFast, warnings.size());
            if (warnings.size() <= 50) {
                warnings.forEach(System.out::println);
            }
            repair.apply(redis);
            assertEquals(requests, unavailable, "every request answered with the storage error");
            assertTrue(runner.isAlive(), "the runner stays up");
            // the requests that reached Redis: those in flight when the circuit opened, then one
            // trial per cool-down
            assertTrue(failedFast >= requests * 8L / 10, "most requests failed at once: " + failedFast);
            // per logger (storage and engine): the first failure, the circuit opening; then per 10 s a
            // summary of each of these two causes
            long allowed = 6 + 4 * (seconds / 10);
            assertTrue(warnings.size() <= allowed, warnings.size() + " WARN lines (at most " + allowed + ") for "
                    + requests + " failed requests\n" + String.join("\n", warnings));
            assertTrue(outage.contains("redis storage (127.0.0.1:" + redis.port + ") failing: ")
                    && outage.contains(cause), "the storage logged the outage and its cause\n" + outage);
            assertTrue(outage.contains("circuit open: "), "the circuit opening was logged\n" + outage);

            Exchange back = awaitRecovery(apisix, jar);
            assertIdentity(back, runner, "fiona");
            String after = runner.logs().substring(mark);
            assertTrue(after.contains("redis storage (127.0.0.1:" + redis.port + ") reachable again: recovered after "),
                    "the storage logged the recovery\n" + after);
            assertTrue(after.contains("session storage redis reachable again: recovered after "),
                    "the engine logged the recovery\n" + after);
            assertTrue(!after.contains("load:session:"), "no session key in the logs");
        }
    }

    /** {@code requests} requests with the cookie from {@link #THREADS} threads; how many got the storage error. */
    private static int load(SimulatedApisix apisix, CookieJar jar, int requests) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                workers.add(pool.submit(() -> {
                    int n = 0;
                    for (int i = 0; i < requests / THREADS; i++) {
                        Exchange ex = apisix.send(withCookies("/app/data", jar));
                        if (ex.status() == 503 && REASON.equals(ex.body()) && !ex.upstreamCalled()) {
                            n++;
                        }
                    }
                    return n;
                }));
            }
            int unavailable = 0;
            for (Future<Integer> w : workers) {
                unavailable += w.get(10, TimeUnit.MINUTES);
            }
            return unavailable;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Polls until the session opens again (the breaker lets a trial through after its cool-down). */
    private static Exchange awaitRecovery(SimulatedApisix apisix, CookieJar jar) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Exchange ex = apisix.send(withCookies("/app/data", jar));
            if (ex.status() == 200 || System.nanoTime() > deadline) {
                return ex;
            }
            Thread.sleep(100);
        }
    }

    /** The sum of a metric's samples. */
    private static long metric(int port, String prefix) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body().lines().filter(l -> l.startsWith(prefix))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
