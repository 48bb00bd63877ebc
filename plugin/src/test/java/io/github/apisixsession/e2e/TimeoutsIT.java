package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Rolling refresh, idling and absolute timeouts in real seconds. The scenarios are independent, so
 * they all start in {@code @BeforeAll} and run at the same time (about 5 s in all); each test
 * method waits for its own scenario and reports its failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TimeoutsIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;
    private ExecutorService pool;
    private final Map<String, CompletableFuture<Void>> scenarios = new LinkedHashMap<>();

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner);
        for (String storage : new String[] {"cookie", "memory"}) {
            apisix.route(E2e.apisixRoute("/roll-" + storage + "/*", "storage", storage, "rolling_timeout", 4,
                    "reject_status", 401));
            apisix.route(E2e.apisixRoute("/idle-" + storage + "/*", "storage", storage, "idling_timeout", 2,
                    "reject_status", 401));
            apisix.route(E2e.apisixRoute("/abs-" + storage + "/*", "storage", storage, "absolute_timeout", 3,
                    "reject_status", 401));
        }
        pool = Executors.newFixedThreadPool(6);
        for (String storage : new String[] {"cookie", "memory"}) {
            scenarios.put("refresh-" + storage, CompletableFuture.runAsync(() -> refresh(storage), pool));
            scenarios.put("idle-" + storage, CompletableFuture.runAsync(() -> idle(storage), pool));
            scenarios.put("absolute-" + storage, CompletableFuture.runAsync(() -> absolute(storage), pool));
        }
    }

    @AfterAll
    void stop() throws InterruptedException {
        if (pool != null) {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
    }

    private void await(String name) throws Throwable {
        try {
            scenarios.get(name).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        }
    }

    /** rolling_timeout 4: after more than ceil(0.75 × 4) = 3 s a request gets a new session id. */
    private void refresh(String storage) {
        String base = "/roll-" + storage;
        // session timestamps have whole-second resolution: refresh needs elapsed > 3 whole seconds,
        // and the cookie dies at elapsed > 4; so log in within one second and ask at exactly 4
        CookieJar jar;
        long created;
        while (true) {
            long before = Instant.now().getEpochSecond();
            jar = E2e.login(apisix, runner, base + "/login");
            created = Instant.now().getEpochSecond();
            if (before == created) {
                break;
            }
        }
        String oldValue = jar.get("session");
        String oldCookieHeader = jar.cookieHeader();
        E2e.sleepUntilEpochSecond(created + 4, 0.1);

        Exchange ex = apisix.send(withCookies(base + "/data", jar));
        assertIdentity(ex, runner, "fiona");
        SetCookie renewed = E2e.sessionSetCookie(ex);
        assertNotNull(renewed, "refreshed after 3 s\n" + why(ex, runner));
        assertNotEquals(oldValue, renewed.value());
        assertNotEquals(oldValue.substring(0, 48), renewed.value().substring(0, 48),
                "a new session id, not just a re-signed header");
        jar.update(ex.response());

        // the new cookie works, and so does the old one right after (stale_ttl / own timeouts)
        assertIdentity(apisix.send(withCookies(base + "/data", jar)), runner, "fiona");
        Exchange old = apisix.send(io.github.apisixsession.simulator.ClientRequest.get(base + "/data")
                .cookie(oldCookieHeader));
        assertEquals(200, old.status(), "the previous cookie still works right after a refresh\n" + why(old, runner));
        assertIdentity(old, runner, "fiona");
    }

    /** idling_timeout 2: a cookie unused for 3+ s is rejected. */
    private void idle(String storage) {
        String base = "/idle-" + storage;
        CookieJar jar = E2e.login(apisix, runner, base + "/login");
        Exchange fresh = apisix.send(withCookies(base + "/data", jar));
        assertIdentity(fresh, runner, "fiona");
        jar.update(fresh.response());
        E2e.sleepSeconds(3.2);
        Exchange stale = apisix.send(withCookies(base + "/data", jar));
        assertEquals(401, stale.status(), "idle for longer than idling_timeout\n" + why(stale, runner));
    }

    /** absolute_timeout 3: rejected after 4 s even with activity every second. */
    private void absolute(String storage) {
        String base = "/abs-" + storage;
        CookieJar jar = E2e.login(apisix, runner, base + "/login");
        for (int i = 0; i < 3; i++) {
            E2e.sleepSeconds(0.9);
            Exchange ex = apisix.send(withCookies(base + "/data", jar));
            assertIdentity(ex, runner, "fiona");
            jar.update(ex.response());
        }
        E2e.sleepSeconds(1.4);
        Exchange late = apisix.send(withCookies(base + "/data", jar));
        assertEquals(401, late.status(), "past absolute_timeout despite activity\n" + why(late, runner));
    }

    @Test
    void rollingRefreshIssuesANewSessionCookieStorage() throws Throwable {
        await("refresh-cookie");
    }

    @Test
    void rollingRefreshIssuesANewSessionMemoryStorage() throws Throwable {
        await("refresh-memory");
    }

    @Test
    void idlingTimeoutRejectsAnUnusedCookieStorage() throws Throwable {
        await("idle-cookie");
    }

    @Test
    void idlingTimeoutRejectsAnUnusedMemoryStorage() throws Throwable {
        await("idle-memory");
    }

    @Test
    void absoluteTimeoutRejectsDespiteActivityCookieStorage() throws Throwable {
        await("absolute-cookie");
    }

    @Test
    void absoluteTimeoutRejectsDespiteActivityMemoryStorage() throws Throwable {
        await("absolute-memory");
    }
}
