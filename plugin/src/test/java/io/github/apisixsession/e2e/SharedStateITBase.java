package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamRequest;
import io.github.apisixsession.simulator.UpstreamResponse;
import io.github.apisixsession.simulator.SetCookie;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code shared_state} (issue 13) across three runner processes, each behind a simulated gateway
 * of its own, sharing one real store (subclasses: Redis, PostgreSQL): a logout on one runner is
 * refused by the others (the delay is measured and printed in a {@code PROPAGATION} line), "log
 * out everywhere" reaches every runner, {@code failure_limit} counts every runner's failures, and a
 * runner restarted reloads the revocations before it serves, concurrent renewals of one session on
 * every runner, and the store killed and restarted under load. Cookie-storage routes (but the
 * renewals' {@code /r/}), so nothing but the shared state can make another runner refuse a cookie.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class SharedStateITBase {
    static final int RUNNERS = 3;
    /** Generous: a busy CI machine; propagation is milliseconds. */
    static final long DEADLINE_MS = 20_000;
    static final int LOGOUT_ROUNDS = Integer.getInteger("sharedState.rounds", 200);
    /** As in SessionEngineFeaturesTest's in-process renewal test. */
    static final int RENEWAL_REQUESTS = 1000;
    static final int RENEWAL_THREADS = 32;
    /** The renewal route's: long enough for the burst and the checks after it on a busy machine. */
    static final int RENEWAL_STALE_TTL = 60;

    final List<RunnerProcess> runners = new ArrayList<>();
    final List<SimulatedApisix> gateways = new ArrayList<>();
    /** Each runner's metrics port, in the order of {@link #runners}. */
    final List<Integer> metricsPorts = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    ClockFile clock;

    /** The store's name and options, e.g. {@code "redis"}, {@code {"port": …}}. */
    abstract String storeName();

    abstract Map<String, Object> storeConf();

    abstract void startStore() throws Exception;

    abstract void stopStore() throws Exception;

    /** Crashes the store (no clean shutdown) and returns once it is down. */
    abstract void killStore() throws Exception;

    /** Starts the killed store again on the same data. */
    abstract void restartStore() throws Exception;

    /** How a runner is started (a store may need a password in its environment). */
    RunnerProcess.Builder runnerBuilder() {
        return E2e.runner();
    }

    Map<String, Object> sharedState(String onFailure) {
        return Map.of("storage", storeName(), storeName(), storeConf(), "on_failure", onFailure);
    }

    @BeforeAll
    void start() throws Exception {
        startStore();
        clock = ClockFile.create();
        for (int i = 0; i < RUNNERS; i++) {
            startRunner();
        }
    }

    /** A runner and its gateway with the test's routes, added at the end of the lists. */
    void startRunner() {
        int metricsPort = E2e.freePort();
        RunnerProcess runner = E2e.start(runnerBuilder().clock(clock)
                .env("SESSION_METRICS_ADDRESS", "127.0.0.1:" + metricsPort));
        SimulatedApisix gateway = E2e.gatewayWithGeorge(runner);
        gateway.route(E2e.apisixRoute("/c/*", "reject_status", 401, "shared_state", sharedState("closed"),
                "logout_all_query_arg", "session_logout_all"));
        gateway.route(E2e.apisixRoute("/open/*", "reject_status", 401, "shared_state", sharedState("open")));
        String failures = E2e.conf("identity", "none", "failure_limit", 3, "shared_state", sharedState("closed"));
        gateway.route(Route.uri("/f/*").preReq(E2e.session(failures)).postResp(E2e.session(failures))
                .upstream(SharedStateITBase::flaky));
        // sessions in the store itself; renewed past 75 s
        gateway.route(E2e.apisixRoute("/r/*", "reject_status", 401, "storage", storeName(), storeName(), storeConf(),
                "rolling_timeout", 100, "idling_timeout", 0, "stale_ttl", RENEWAL_STALE_TTL));
        runners.add(runner);
        gateways.add(gateway);
        metricsPorts.add(metricsPort);
    }

    /** The sum of the runner's metric lines that start with {@code prefix}. */
    long metric(int runner, String prefix) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + metricsPorts.get(runner) + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body().lines().filter(l -> l.startsWith(prefix))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static UpstreamResponse flaky(UpstreamRequest req) {
        return req.path().contains("/fail") ? UpstreamResponse.status(502).header("Content-Type", "text/plain")
                .body("bad gateway") : UpstreamResponse.json("{\"ok\":true}");
    }

    @AfterAll
    void stop() throws Exception {
        for (int i = 0; i < gateways.size(); i++) {
            E2e.close(gateways.get(i), runners.get(i));
        }
        stopStore();
        if (clock != null) {
            clock.close();
        }
    }

    Exchange get(int runner, String path, String cookie) {
        return gateways.get(runner).send(ClientRequest.get(path).cookie(cookie));
    }

    String login(int runner, String key) {
        return login(runner, "/c/login", key);
    }

    String login(int runner, String path, String key) {
        Exchange ex = gateways.get(runner).send(ClientRequest.get(path).apikey(key));
        assertEquals(200, ex.status(), why(ex, runners.get(runner)));
        assertNotNull(E2e.sessionSetCookie(ex), why(ex, runners.get(runner)));
        return "session=" + E2e.sessionSetCookie(ex).value();
    }

    PropagationDelays.Seen awaitStatus(int runner, String path, String cookie, int status) {
        return PropagationDelays.poll(() -> get(runner, path, cookie), status, DEADLINE_MS, ex -> {
            StringBuilder notes = new StringBuilder();
            for (String line : runners.get(runner).logs().split("\n")) {
                if (!line.contains("StorageFailure")) { // one per refused request: the rest says why
                    notes.append(line).append('\n');
                }
            }
            return new AssertionError("runner " + runner + " still answers " + ex.status() + ", not " + status
                    + "\n" + why(ex, null) + "\n--- runner output without StorageFailure lines\n" + notes);
        });
    }

    static String summary(String what, List<Double> delaysMs) {
        return PropagationDelays.summary("PROPAGATION", what, delaysMs);
    }

    /**
     * Each round logs in on one runner, has the two others poll with the cookie (accepted), logs
     * out, and times how long until each of them refuses it.
     */
    @Test
    @Order(1)
    void aLogoutOnOneRunnerIsRefusedByTheOthers() throws Exception {
        List<Double> answered = new ArrayList<>();
        List<Double> fromSent = new ArrayList<>();
        String warm = login(0, E2e.FIONA_KEY);
        for (int r = 0; r < RUNNERS; r++) {
            // the first request prepares the route, which may answer storage_error_status until the
            // store's copy is loaded on a busy machine
            awaitStatus(r, "/c/data", warm, 200);
        }
        ExecutorService pollers = Executors.newFixedThreadPool(RUNNERS - 1);
        try {
            for (int round = 0; round < LOGOUT_ROUNDS; round++) {
                int origin = round % RUNNERS;
                String cookie = login(origin, E2e.FIONA_KEY);
                List<Future<PropagationDelays.Seen>> refused = new ArrayList<>();
                for (int r = 0; r < RUNNERS; r++) {
                    if (r != origin) {
                        E2e.assertIdentity(get(r, "/c/data", cookie), runners.get(r), "fiona");
                        int other = r;
                        refused.add(pollers.submit(() -> awaitStatus(other, "/c/data", cookie, 401)));
                    }
                }
                long sent = System.nanoTime();
                Exchange logout = gateways.get(origin).send(ClientRequest.post("/c/x?session_logout").cookie(cookie));
                long loggedOut = System.nanoTime();
                assertEquals(200, logout.status(), why(logout, runners.get(origin)));
                for (Future<PropagationDelays.Seen> f : refused) {
                    PropagationDelays.Seen seen = f.get(DEADLINE_MS * 2, TimeUnit.MILLISECONDS);
                    answered.add(Math.max(0, seen.answered() - loggedOut) / 1e6);
                    fromSent.add(Math.max(0, seen.answered() - sent) / 1e6);
                }
            }
        } finally {
            pollers.shutdownNow();
        }
        System.out.println(summary(storeName() + " logout (logout sent → first refusal answered elsewhere)", fromSent));
        System.out.println(summary(storeName() + " logout (logout answered → first refusal answered elsewhere; "
                + "0 = refused already)", answered));
    }

    @Test
    @Order(2)
    void logOutEverywhereReachesEveryRunnerAndNoOtherSubject() {
        List<String> fiona = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            fiona.add(login(i % RUNNERS, E2e.FIONA_KEY));
        }
        List<String> george = new ArrayList<>();
        for (int r = 0; r < RUNNERS; r++) {
            george.add(login(r, E2e.GEORGE_KEY));
        }
        // markers have whole seconds: a session created in the marker's second is not older than it
        clock.advance(Duration.ofSeconds(1));
        Exchange all = gateways.get(0).send(ClientRequest.post("/c/x?session_logout_all").cookie(fiona.get(0)));
        assertEquals(200, all.status(), why(all, runners.get(0)));
        for (String cookie : fiona) {
            for (int r = 0; r < RUNNERS; r++) {
                awaitStatus(r, "/c/data", cookie, 401);
            }
        }
        for (String cookie : george) {
            for (int r = 0; r < RUNNERS; r++) {
                E2e.assertIdentity(get(r, "/c/data", cookie), runners.get(r), "george");
            }
        }
        clock.advance(Duration.ofSeconds(1));
        String again = login(2, E2e.FIONA_KEY);
        for (int r = 0; r < RUNNERS; r++) {
            E2e.assertIdentity(get(r, "/c/data", again), runners.get(r), "fiona");
        }
    }

    @Test
    @Order(3)
    void failureLimitCountsTheFailuresOfEveryRunner() {
        Exchange first = gateways.get(0).send(ClientRequest.get("/f/ok"));
        String cookie = "session=" + E2e.sessionSetCookie(first).value();
        for (int r = 0; r < RUNNERS; r++) {
            Exchange fail = get(r, "/f/fail", cookie);
            assertEquals(502, fail.status(), why(fail, runners.get(r)));
            String sc = fail.response().setCookie("session");
            boolean expired = sc != null && sc.contains("Max-Age=0");
            assertEquals(r == RUNNERS - 1, expired, "failure " + (r + 1) + " of 3, on runner " + r + "\n"
                    + why(fail, runners.get(r)));
        }
        for (int r = 0; r < RUNNERS; r++) {
            // the other runners refuse it once the revocation reaches them: a new session is issued
            int runner = r;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
            Exchange next;
            while (E2e.sessionSetCookie(next = get(runner, "/f/ok", cookie)) == null) {
                assertTrue(System.nanoTime() < deadline, "a new session: the old one is refused\n"
                        + why(next, runners.get(runner)));
            }
            assertNotEquals(cookie, "session=" + E2e.sessionSetCookie(next).value());
        }
    }

    @Test
    @Order(4)
    void aRestartedRunnerReloadsTheRevocationsBeforeServing() {
        String cookie = login(0, E2e.FIONA_KEY);
        Exchange logout = gateways.get(0).send(ClientRequest.post("/c/x?session_logout").cookie(cookie));
        assertEquals(200, logout.status(), why(logout, runners.get(0)));
        int last = RUNNERS - 1;
        E2e.close(gateways.remove(last), runners.remove(last));
        metricsPorts.remove(last);
        startRunner();
        Exchange first = get(last, "/c/data", cookie);
        assertNotEquals(200, first.status(), "the first request after the restart is not served with the "
                + "revoked cookie\n" + why(first, runners.get(last)));
        awaitStatus(last, "/c/data", cookie, 401);
        String fresh = login(last, E2e.FIONA_KEY);
        E2e.assertIdentity(get(0, "/c/data", fresh), runners.get(0), "fiona");
    }

    /**
     * {@code SessionEngineFeaturesTest.concurrentRequestsPastTheRenewalPointShareOneNewSessionId}
     * across the runners: sessions in the shared store, 1,000 requests with one cookie past its
     * renewal point, spread over the three runners from 32 threads at once. None is refused; each
     * runner renews the session once and gives that one new cookie to all its requests (in-process
     * coalescing), so there are up to three new ids, not one: nothing coordinates renewals across
     * runners, as across lua-resty-session's or Kong's nodes. Every new cookie opens on every
     * runner, and the old one still does within {@code stale_ttl}.
     */
    @Test
    @Order(5)
    void concurrentRenewalsOnEveryRunnerGiveOneNewSessionIdPerRunner() throws Exception {
        String old = login(0, "/r/login", E2e.FIONA_KEY);
        for (int r = 0; r < RUNNERS; r++) {
            // prepares the route on each runner (may answer storage_error_status meanwhile on a busy machine)
            awaitStatus(r, "/r/data", old, 200);
            E2e.assertIdentity(get(r, "/r/data", old), runners.get(r), "fiona");
        }
        clock.advance(Duration.ofSeconds(80)); // past 75% of rolling_timeout 100
        List<Set<String>> issued = new ArrayList<>();
        List<AtomicInteger> sent = new ArrayList<>();
        for (int r = 0; r < RUNNERS; r++) {
            issued.add(ConcurrentHashMap.newKeySet());
            sent.add(new AtomicInteger());
        }
        ExecutorService pool = Executors.newFixedThreadPool(RENEWAL_THREADS);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < RENEWAL_REQUESTS; i++) {
                int r = i % RUNNERS;
                results.add(pool.submit(() -> {
                    go.await();
                    sent.get(r).incrementAndGet();
                    Exchange ex = get(r, "/r/data", old);
                    SetCookie renewed = E2e.sessionSetCookie(ex);
                    if (ex.status() != 200 || !"fiona".equals(ex.upstreamHeader("X-Consumer-Username")) || renewed == null) {
                        return "runner " + r + ": not served as fiona with a renewed cookie\n" + why(ex, runners.get(r));
                    }
                    issued.get(r).add(renewed.value());
                    return null;
                }));
            }
            go.countDown();
            for (Future<String> f : results) {
                String failure = f.get(120, TimeUnit.SECONDS); // a hang guard only
                assertEquals(null, failure, failure);
            }
        } finally {
            pool.shutdownNow();
        }
        Set<String> all = new TreeSet<>();
        for (int r = 0; r < RUNNERS; r++) {
            assertEquals(1, issued.get(r).size(), "runner " + r + " renews once, all its requests share that id");
            all.addAll(issued.get(r));
        }
        for (String cookie : all) {
            for (int r = 0; r < RUNNERS; r++) {
                E2e.assertOk(get(r, "/r/data", "session=" + cookie), runners.get(r), "fiona");
            }
        }
        for (int r = 0; r < RUNNERS; r++) {
            E2e.assertOk(get(r, "/r/data", old), runners.get(r), "fiona");
        }
        for (int r = 0; r < RUNNERS; r++) {
            // the storage's client cache (on by default) is on the metrics endpoint, and it counted these reads
            String cache = "apisix_session_storage_cache_";
            assertTrue(metric(r, cache + "hits_total{cache=\"" + storeName() + "\"")
                    + metric(r, cache + "misses_total{cache=\"" + storeName() + "\"")
                    + metric(r, cache + "bypassed_total{cache=\"" + storeName() + "\"") >= RENEWAL_REQUESTS / RUNNERS,
                    "runner " + r + " counts its cached reads");
        }
        System.out.printf(Locale.ROOT, "RENEWAL %s %d concurrent requests past the renewal point from %d threads: "
                + "%d distinct new session ids, requests per runner %s%n", storeName(), RENEWAL_REQUESTS,
                RENEWAL_THREADS, all.size(), sent);
    }

    /** Waits until the runner's change feed of the store is lost (its gauge is 0). */
    void awaitFeedLost(int runner) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (metric(runner, "apisix_session_shared_state_feeds_connected") != 0) {
            assertTrue(System.nanoTime() < deadline, "runner " + runner + " still has its feed\n"
                    + why(null, runners.get(runner)));
            Thread.sleep(20);
        }
    }

    /**
     * Three clients (one per runner) send a valid and a logged-out cookie to a fail-closed and a
     * fail-open route while the store is killed and restarted; a logout sent while it is down waits
     * in its runner's queue. Every request is answered, the logged-out cookie is never served, the
     * queued logout reaches the other runners once the store is back, and they recover without a
     * restart.
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
            killStore();
            Exchange logout = gateways.get(0).send(ClientRequest.post("/c/x?session_logout").cookie(duringOutage));
            assertEquals(503, logout.status(), "fail closed: the revocation is queued\n" + why(logout, runners.get(0)));
            for (int r = 0; r < RUNNERS; r++) {
                // the grace runs on the runners' clock from when each saw the loss: move it after that
                awaitFeedLost(r);
            }
            clock.advance(Duration.ofSeconds(3)); // past the grace of a lost feed
            for (int r = 0; r < RUNNERS; r++) {
                awaitStatus(r, "/c/data", valid, 503);
                awaitStatus(r, "/open/data", valid, 200);
            }
            restartStore();
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
        System.out.printf(Locale.ROOT, "OUTAGE %s killed and restarted: %d requests, slowest %.1f ms, seen %s%n",
                storeName(), requests.get(), slowestNanos.get() / 1e6, new TreeSet<>(seen));
        assertTrue(wrong.isEmpty(), "unexpected answers: " + wrong.subList(0, Math.min(20, wrong.size())));
        assertTrue(seen.contains("/c/data valid 503") && seen.contains("/c/data valid 200"), seen.toString());
    }
}
