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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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
 * runner restarted reloads the revocations before it serves. Cookie-storage routes, so nothing
 * but the shared state can make another runner refuse a cookie.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class SharedStateITBase {
    static final int RUNNERS = 3;
    /** Generous: a busy CI machine; propagation is milliseconds. */
    static final long DEADLINE_MS = 20_000;
    static final int LOGOUT_ROUNDS = Integer.getInteger("sharedState.rounds", 200);

    final List<RunnerProcess> runners = new ArrayList<>();
    final List<SimulatedApisix> gateways = new ArrayList<>();
    ClockFile clock;

    /** The store's name and options, e.g. {@code "redis"}, {@code {"port": …}}. */
    abstract String storeName();

    abstract Map<String, Object> storeConf();

    abstract void startStore() throws Exception;

    abstract void stopStore() throws Exception;

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
        RunnerProcess runner = E2e.start(runnerBuilder().clock(clock));
        SimulatedApisix gateway = E2e.gatewayWithGeorge(runner);
        gateway.route(E2e.apisixRoute("/c/*", "reject_status", 401, "shared_state", sharedState("closed"),
                "logout_all_query_arg", "session_logout_all"));
        gateway.route(E2e.apisixRoute("/open/*", "reject_status", 401, "shared_state", sharedState("open")));
        String failures = E2e.conf("identity", "none", "failure_limit", 3, "shared_state", sharedState("closed"));
        gateway.route(Route.uri("/f/*").preReq(E2e.session(failures)).postResp(E2e.session(failures))
                .upstream(SharedStateITBase::flaky));
        runners.add(runner);
        gateways.add(gateway);
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
        Exchange ex = gateways.get(runner).send(ClientRequest.get("/c/login").apikey(key));
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
        startRunner();
        Exchange first = get(last, "/c/data", cookie);
        assertNotEquals(200, first.status(), "the first request after the restart is not served with the "
                + "revoked cookie\n" + why(first, runners.get(last)));
        awaitStatus(last, "/c/data", cookie, 401);
        String fresh = login(last, E2e.FIONA_KEY);
        E2e.assertIdentity(get(0, "/c/data", fresh), runners.get(0), "fiona");
    }
}
