package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamResponse;
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
 * The options that need real seconds: remember-me across an expired session cookie and the
 * remember timeouts, {@code stale_ttl} after a renewal on memory storage, and the sticky cookie
 * across a renewal. As in {@link TimeoutsIT} every scenario starts in {@code @BeforeAll} and they
 * run at the same time (about 12 s in all); the remember-me checks that need no waiting are plain
 * tests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityTimedIT {
    private static final String REMEMBER_UPSTREAM = E2e.conf("identity", "upstream", "remember", true);
    private static final String REMEMBER_UPSTREAM_API = E2e.conf("identity", "upstream", "remember", true,
            "reject_status", 401);
    private RunnerProcess runner;
    private SimulatedApisix apisix;
    private ExecutorService pool;
    private final Map<String, CompletableFuture<Void>> scenarios = new LinkedHashMap<>();

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner);
        for (String storage : new String[] {"cookie", "memory"}) {
            apisix.route(E2e.apisixRoute("/rem-" + storage + "/*", "storage", storage, "rolling_timeout", 2,
                    "remember", true, "remember_cookie_name", "keep", "remember_rolling_timeout", 3600,
                    "remember_absolute_timeout", 7200, "reject_status", 401));
        }
        apisix.route(E2e.apisixRoute("/rem-short-roll/*", "rolling_timeout", 2, "remember", true,
                        "remember_rolling_timeout", 2, "reject_status", 401))
                .route(E2e.apisixRoute("/rem-short-abs/*", "rolling_timeout", 2, "remember", true,
                        "remember_absolute_timeout", 3, "reject_status", 401))
                .route(E2e.apisixRoute("/rem-low/*", "remember", true, "remember_safety", "Low", "reject_status", 401))
                .route(E2e.apisixRoute("/rem-none/*", "remember", true, "remember_safety", "None",
                        "reject_status", 401))
                .route(Route.uri("/rem-login").preReq(E2e.session(REMEMBER_UPSTREAM))
                        .postResp(E2e.session(REMEMBER_UPSTREAM))
                        .upstream(req -> UpstreamResponse.json("{}").header("X-Session-Subject", "alice")))
                .route(Route.uri("/rem-api/*").preReq(E2e.session(REMEMBER_UPSTREAM_API)))
                .route(E2e.apisixRoute("/stale/*", "storage", "memory", "rolling_timeout", 12, "stale_ttl", 1,
                        "reject_status", 401))
                .route(E2e.apisixRoute("/stale-default/*", "storage", "memory", "rolling_timeout", 12,
                        "reject_status", 401));
        for (String storage : new String[] {"cookie", "memory"}) {
            apisix.route(Route.uri("/sticky-" + storage + "/*").preReq(E2e.session(E2e.conf("identity", "none",
                    "storage", storage, "rolling_timeout", 8, "sticky_cookie_name", "route"))));
        }
        pool = Executors.newFixedThreadPool(8);
        for (String storage : new String[] {"cookie", "memory"}) {
            scenarios.put("remember-" + storage, CompletableFuture.runAsync(() -> rememberAcrossExpiry(storage), pool));
            scenarios.put("sticky-" + storage, CompletableFuture.runAsync(() -> stickyAcrossRenewal(storage), pool));
        }
        scenarios.put("remember-timeouts", CompletableFuture.runAsync(this::rememberTimeouts, pool));
        scenarios.put("stale", CompletableFuture.runAsync(this::staleTtl, pool));
    }

    @AfterAll
    void stop() throws InterruptedException {
        if (pool != null) {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
        E2e.close(apisix, runner);
    }

    private void await(String name) throws Throwable {
        try {
            scenarios.get(name).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        }
    }

    /**
     * Runs {@code login} until it starts and ends within one epoch second (session timestamps
     * have whole-second resolution); returns that second.
     */
    private static long withinOneSecond(Runnable login) {
        while (true) {
            long before = Instant.now().getEpochSecond();
            login.run();
            long after = Instant.now().getEpochSecond();
            if (before == after) {
                return after;
            }
        }
    }

    private static CookieJar copy(CookieJar jar) {
        CookieJar c = new CookieJar();
        jar.asMap().forEach(c::put);
        return c;
    }

    private void assertRejected(Exchange ex, String reason) {
        assertEquals(401, ex.status(), reason + "\n" + why(ex, runner));
        assertFalse(ex.upstreamCalled());
    }

    // ------------------------------------------------------------ scenarios

    /**
     * rolling_timeout 2 with remember-me: after 3 s the session cookie is dead, the remember cookie
     * restores fiona and a new session cookie is issued, whether the browser dropped the session
     * cookie or still sends the expired one.
     */
    private void rememberAcrossExpiry(String storage) {
        String base = "/rem-" + storage;
        CookieJar[] holder = new CookieJar[2];
        long created = withinOneSecond(() -> {
            holder[0] = E2e.login(apisix, runner, base + "/login");
            holder[1] = E2e.login(apisix, runner, base + "/login");
        });
        CookieJar closed = holder[0];
        CookieJar kept = holder[1];
        assertNotNull(closed.get("keep"), "remember cookie under remember_cookie_name: " + closed);
        String expiredSession = closed.get("session");
        E2e.sleepUntilEpochSecond(created + 3, 0.1);

        // the session cookie alone is dead
        assertRejected(apisix.send(ClientRequest.get(base + "/data").cookie("session=" + expiredSession)),
                "past rolling_timeout without the remember cookie");

        // the browser was closed: only the remember cookie is left
        closed.remove("session");
        String oldKeep = closed.get("keep");
        Exchange restored = apisix.send(withCookies(base + "/data", closed));
        E2e.assertOk(restored, runner, "fiona");
        SetCookie session = E2e.sessionSetCookie(restored);
        assertNotNull(session, "a new session cookie\n" + why(restored, runner));
        assertFalse(session.deletes());
        assertNull(session.attribute("Max-Age"), "the session cookie stays a browser-session cookie");
        SetCookie keep = E2e.setCookie(restored, "keep");
        assertNotNull(keep, "the remember cookie is renewed\n" + why(restored, runner));
        assertNotEquals(oldKeep, keep.value());
        closed.update(restored.response());
        Exchange after = apisix.send(withCookies(base + "/data", closed));
        E2e.assertOk(after, runner, "fiona");
        assertNull(E2e.sessionSetCookie(after), "the new session cookie is used\n" + why(after, runner));

        // the expired session cookie is still sent: the remember cookie wins too
        Exchange withExpired = apisix.send(withCookies(base + "/data", kept));
        E2e.assertOk(withExpired, runner, "fiona");
        SetCookie replaced = E2e.sessionSetCookie(withExpired);
        assertNotNull(replaced, why(withExpired, runner));
        assertNotEquals(kept.get("session"), replaced.value());
    }

    /**
     * remember_rolling_timeout 2 and remember_absolute_timeout 3 end the remember cookie too; the
     * Max-Age of the remember cookie is its rolling timeout.
     */
    private void rememberTimeouts() {
        CookieJar[] holder = new CookieJar[2];
        long created = withinOneSecond(() -> {
            Exchange ex = apisix.send(ClientRequest.get("/rem-short-roll/login").apikey(E2e.FIONA_KEY));
            SetCookie remember = E2e.setCookie(ex, "remember");
            assertNotNull(remember, why(ex, runner));
            assertEquals("2", remember.attribute("Max-Age"), remember.toString());
            holder[0] = new CookieJar().update(ex.response());
            holder[1] = E2e.login(apisix, runner, "/rem-short-abs/login");
        });
        for (CookieJar jar : holder) {
            jar.remove("session");
        }
        // before the timeouts the remember cookies restore the session (on copies: restoring renews
        // them); checked only while surely before them
        if (Instant.now().getEpochSecond() - created <= 1) {
            E2e.assertOk(apisix.send(withCookies("/rem-short-roll/data", copy(holder[0]))), runner, "fiona");
            E2e.assertOk(apisix.send(withCookies("/rem-short-abs/data", copy(holder[1]))), runner, "fiona");
        }
        E2e.sleepUntilEpochSecond(created + 4, 0.1);
        assertRejected(apisix.send(withCookies("/rem-short-roll/data", holder[0])), "remember_rolling_timeout 2");
        assertRejected(apisix.send(withCookies("/rem-short-abs/data", holder[1])), "remember_absolute_timeout 3");
    }

    /**
     * stale_ttl 1 on memory storage with rolling_timeout 12: a request after 10 s renews the
     * session; the previous cookie still works right after, and is refused about 1.5 s later
     * although its own timeouts (and its own storage TTL, 12 s from the login) still allow it.
     * With the default stale_ttl (10 s) it keeps working. (With a shorter rolling_timeout the
     * previous entry's own TTL would end before stale_ttl could be told apart from it.)
     */
    private void staleTtl() {
        CookieJar[] holder = new CookieJar[2];
        long created = withinOneSecond(() -> {
            holder[0] = E2e.login(apisix, runner, "/stale/login");
            holder[1] = E2e.login(apisix, runner, "/stale-default/login");
        });
        String[] bases = {"/stale", "/stale-default"};
        String[] old = new String[2];
        CookieJar[] renewed = new CookieJar[2];
        E2e.sleepUntilEpochSecond(created + 10, 0.05);
        for (int i = 0; i < 2; i++) {
            old[i] = holder[i].cookieHeader();
            Exchange ex = apisix.send(withCookies(bases[i] + "/data", holder[i]));
            E2e.assertOk(ex, runner, "fiona");
            SetCookie sc = E2e.sessionSetCookie(ex);
            assertNotNull(sc, "renewed after 75% of rolling_timeout\n" + why(ex, runner));
            renewed[i] = copy(holder[i]).update(ex.response());
            if (i == 0) {
                // stale_ttl runs from here
                renewedAt = System.currentTimeMillis();
            }
            E2e.assertOk(apisix.send(ClientRequest.get(bases[i] + "/data").cookie(old[i])), runner, "fiona");
        }
        long checkAt = Math.max(renewedAt + 1400, (created + 11) * 1000 + 500);
        // the old entry's own TTL ends 12 s after the login (created + 12 at the earliest)
        staleWindowMissed = checkAt > (created + 12) * 1000 - 150;
        if (staleWindowMissed) {
            return;
        }
        E2e.sleepSeconds((checkAt - System.currentTimeMillis()) / 1000.0);
        assertRejected(apisix.send(ClientRequest.get("/stale/data").cookie(old[0])), "past stale_ttl 1");
        E2e.assertOk(apisix.send(withCookies("/stale/data", renewed[0])), runner, "fiona");
        E2e.assertOk(apisix.send(ClientRequest.get("/stale-default/data").cookie(old[1])), runner, "fiona");
        E2e.assertOk(apisix.send(withCookies("/stale-default/data", renewed[1])), runner, "fiona");
    }

    private volatile long renewedAt;
    private volatile boolean staleWindowMissed;

    /**
     * sticky_cookie_name: the first request's upstream already sees the sticky cookie; a renewal
     * (rolling_timeout 8: after 6 s) changes the session cookie and leaves the sticky one alone.
     * The renewal is asked for at 7 s, well before the memory entry's own TTL (8 s) ends.
     */
    private void stickyAcrossRenewal(String storage) {
        String base = "/sticky-" + storage;
        Exchange[] holder = new Exchange[1];
        long created = withinOneSecond(() -> holder[0] = apisix.send(ClientRequest.get(base + "/page").cookie("a=1")));
        Exchange first = holder[0];
        assertEquals(200, first.status(), why(first, runner));
        SetCookie sticky = E2e.setCookie(first, "route");
        assertNotNull(sticky, "a sticky cookie\n" + why(first, runner));
        assertNotNull(E2e.sessionSetCookie(first), why(first, runner));
        assertEquals("a=1; route=" + sticky.value(), first.upstreamHeader("Cookie"),
                "the upstream (chash) already sees the sticky cookie\n" + why(first, runner));
        CookieJar jar = new CookieJar().put("a", "1").update(first.response());
        String session = jar.get("session");

        Exchange second = apisix.send(withCookies(base + "/page", jar));
        assertEquals(200, second.status(), why(second, runner));
        assertTrue(second.setCookies().isEmpty(), "nothing new\n" + why(second, runner));

        E2e.sleepUntilEpochSecond(created + 7, 0.1);
        Exchange renewal = apisix.send(withCookies(base + "/page", jar));
        assertEquals(200, renewal.status(), why(renewal, runner));
        SetCookie renewed = E2e.sessionSetCookie(renewal);
        assertNotNull(renewed, "renewed after 6 s\n" + why(renewal, runner));
        assertNotEquals(session.substring(0, 48), renewed.value().substring(0, 48), "a new session id");
        assertNull(E2e.setCookie(renewal, "route"), "the sticky cookie is not re-sent\n" + why(renewal, runner));
        jar.update(renewal.response());
        assertEquals(sticky.value(), jar.get("route"));
        assertTrue(renewal.upstreamHeader("Cookie").contains("route=" + sticky.value()), why(renewal, runner));
        Exchange after = apisix.send(withCookies(base + "/page", jar));
        assertTrue(after.setCookies().isEmpty(), "the renewed session is used\n" + why(after, runner));
    }

    // ------------------------------------------------------------ tests

    @Test
    void rememberCookieRestoresTheSessionAfterItExpiredCookieStorage() throws Throwable {
        await("remember-cookie");
    }

    @Test
    void rememberCookieRestoresTheSessionAfterItExpiredMemoryStorage() throws Throwable {
        await("remember-memory");
    }

    @Test
    void rememberRollingAndAbsoluteTimeoutsEndTheRememberCookie() throws Throwable {
        await("remember-timeouts");
    }

    @Test
    void staleTtlBoundsThePreviousCookieAfterARenewal() throws Throwable {
        await("stale");
        assumeFalse(staleWindowMissed, "the machine was too slow to check stale_ttl inside its window");
    }

    @Test
    void stickyCookieIsUnchangedAcrossARenewalCookieStorage() throws Throwable {
        await("sticky-cookie");
    }

    @Test
    void stickyCookieIsUnchangedAcrossARenewalMemoryStorage() throws Throwable {
        await("sticky-memory");
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void rememberCookieIsPersistentAndSafetyChangesItsKey() {
        Exchange ex = apisix.send(ClientRequest.get("/rem-low/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(ex, runner, "fiona");
        SetCookie remember = E2e.setCookie(ex, "remember");
        assertNotNull(remember, why(ex, runner));
        assertEquals("604800", remember.attribute("Max-Age"), "remember_rolling_timeout default: " + remember);
        assertNotNull(remember.attribute("Expires"));
        assertTrue(remember.httpOnly() && remember.secure(), remember.toString());
        assertNull(E2e.sessionSetCookie(ex).attribute("Max-Age"));

        CookieJar jar = new CookieJar().update(ex.response()).remove("session");
        E2e.assertOk(apisix.send(withCookies("/rem-low/data", jar)), runner, "fiona");
        // the same secret with another remember_safety derives another key
        assertRejected(apisix.send(withCookies("/rem-none/data", jar)), "remember_safety None (HKDF) vs Low (PBKDF2)");
        CookieJar none = E2e.login(apisix, runner, "/rem-none/login").remove("session");
        E2e.assertOk(apisix.send(withCookies("/rem-none/data", none)), runner, "fiona");
    }

    @Test
    void logoutForgetsTheRememberCookie() {
        CookieJar jar = E2e.login(apisix, runner, "/rem-low/login");
        String remember = jar.get("remember");
        assertNotNull(remember);
        Exchange logout = apisix.send(ClientRequest.post("/rem-low/x?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout, runner));
        SetCookie forgotten = E2e.setCookie(logout, "remember");
        assertNotNull(forgotten, why(logout, runner));
        assertTrue(forgotten.deletes(), forgotten.toString());
        jar.update(logout.response());
        assertTrue(jar.isEmpty(), jar.toString());
        assertRejected(apisix.send(ClientRequest.get("/rem-low/data").cookie("remember=" + remember)),
                "the remember cookie is revoked at logout");
    }

    @Test
    void anUpstreamLoginIssuesARememberCookieThatRestoresTheSession() {
        Exchange login = apisix.send(ClientRequest.post("/rem-login"));
        assertEquals(200, login.status(), why(login, runner));
        CookieJar jar = new CookieJar().update(login.response());
        assertNotNull(jar.get("remember"), why(login, runner));
        jar.remove("session");
        Exchange api = apisix.send(withCookies("/rem-api/orders", jar));
        E2e.assertOk(api, runner, "alice");
        assertNotNull(E2e.sessionSetCookie(api), "a new session cookie\n" + why(api, runner));
    }
}
