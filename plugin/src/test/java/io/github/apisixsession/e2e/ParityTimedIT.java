package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The options that need time to pass: remember-me across an expired session cookie and the
 * remember timeouts, {@code stale_ttl} after a renewal on memory storage, and the sticky cookie
 * across a renewal. The runner's time is a {@link ClockFile} the test moves, so each check happens
 * at an exact instant (logins mid-second, checks a tenth of a second into the second the rule is
 * about); nothing waits.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityTimedIT {
    private static final String REMEMBER_UPSTREAM = E2e.conf("identity", "upstream", "remember", true);
    private static final String REMEMBER_UPSTREAM_API = E2e.conf("identity", "upstream", "remember", true,
            "reject_status", 401);
    private ClockFile clock;
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        clock = ClockFile.create();
        runner = E2e.start(E2e.runner().clock(clock));
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
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
        if (clock != null) {
            clock.close();
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

    /**
     * rolling_timeout 2 with remember-me: 3 s later the session cookie is dead, the remember cookie
     * restores fiona and a new session cookie is issued, whether the browser dropped the session
     * cookie or still sends the expired one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void rememberCookieRestoresTheSessionAfterItExpired(String storage) {
        String base = "/rem-" + storage;
        long created = E2e.midSecond(clock);
        CookieJar closed = E2e.login(apisix, runner, base + "/login");
        CookieJar kept = E2e.login(apisix, runner, base + "/login");
        assertNotNull(closed.get("keep"), "remember cookie under remember_cookie_name: " + closed);
        String expiredSession = closed.get("session");
        E2e.at(clock, created + 3);

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
     * remember_rolling_timeout 2 and remember_absolute_timeout 3 end the remember cookie too, each
     * at its own second; the Max-Age of the remember cookie is its rolling timeout. The checks
     * before the end restore from copies (restoring renews the remember cookie).
     */
    @Test
    void rememberRollingAndAbsoluteTimeoutsEndTheRememberCookie() {
        long created = E2e.midSecond(clock);
        Exchange ex = apisix.send(ClientRequest.get("/rem-short-roll/login").apikey(E2e.FIONA_KEY));
        SetCookie remember = E2e.setCookie(ex, "remember");
        assertNotNull(remember, why(ex, runner));
        assertEquals("2", remember.attribute("Max-Age"), remember.toString());
        CookieJar roll = new CookieJar().update(ex.response()).remove("session");
        CookieJar abs = E2e.login(apisix, runner, "/rem-short-abs/login").remove("session");

        E2e.at(clock, created + 2);
        E2e.assertOk(apisix.send(withCookies("/rem-short-roll/data", copy(roll))), runner, "fiona");
        E2e.at(clock, created + 3);
        assertRejected(apisix.send(withCookies("/rem-short-roll/data", roll)), "remember_rolling_timeout 2");
        E2e.assertOk(apisix.send(withCookies("/rem-short-abs/data", copy(abs))), runner, "fiona");
        E2e.at(clock, created + 4);
        assertRejected(apisix.send(withCookies("/rem-short-abs/data", abs)), "remember_absolute_timeout 3");
    }

    /**
     * stale_ttl 1 on memory storage with rolling_timeout 12: a request after 10 s renews the
     * session; the previous cookie still works 0.9 s after, and is refused 1.5 s after although
     * its own timeouts (and its own storage TTL, 12 s from the login) still allow it. With the
     * default stale_ttl (10 s) it keeps working.
     */
    @Test
    void staleTtlBoundsThePreviousCookieAfterARenewal() {
        long created = E2e.midSecond(clock);
        String[] bases = {"/stale", "/stale-default"};
        CookieJar[] jars = {E2e.login(apisix, runner, "/stale/login"), E2e.login(apisix, runner, "/stale-default/login")};
        String[] old = new String[2];
        CookieJar[] renewed = new CookieJar[2];
        E2e.at(clock, created + 10);
        Instant renewedAt = clock.now(); // stale_ttl runs from here
        for (int i = 0; i < 2; i++) {
            old[i] = jars[i].cookieHeader();
            Exchange ex = apisix.send(withCookies(bases[i] + "/data", jars[i]));
            E2e.assertOk(ex, runner, "fiona");
            assertNotNull(E2e.sessionSetCookie(ex), "renewed after 75% of rolling_timeout\n" + why(ex, runner));
            renewed[i] = copy(jars[i]).update(ex.response());
        }
        clock.advanceTo(renewedAt.plusMillis(900));
        E2e.assertOk(apisix.send(ClientRequest.get("/stale/data").cookie(old[0])), runner, "fiona");
        clock.advanceTo(renewedAt.plusMillis(1500));
        assertRejected(apisix.send(ClientRequest.get("/stale/data").cookie(old[0])), "past stale_ttl 1");
        E2e.assertOk(apisix.send(withCookies("/stale/data", renewed[0])), runner, "fiona");
        E2e.assertOk(apisix.send(ClientRequest.get("/stale-default/data").cookie(old[1])), runner, "fiona");
        E2e.assertOk(apisix.send(withCookies("/stale-default/data", renewed[1])), runner, "fiona");
    }

    /**
     * sticky_cookie_name: the first request's upstream already sees the sticky cookie; a renewal
     * (rolling_timeout 8: after 6 s) changes the session cookie and leaves the sticky one alone.
     * The renewal is asked for at 7 s, before the memory entry's own TTL (8 s) ends.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void stickyCookieIsUnchangedAcrossARenewal(String storage) {
        String base = "/sticky-" + storage;
        long created = E2e.midSecond(clock);
        Exchange first = apisix.send(ClientRequest.get(base + "/page").cookie("a=1"));
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

        E2e.at(clock, created + 7);
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
