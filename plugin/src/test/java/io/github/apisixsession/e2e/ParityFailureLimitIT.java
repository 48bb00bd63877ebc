package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamRequest;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Go session manager's {@code failure_limit} / {@code failure_status}: the plugin runs in
 * ext-plugin-pre-req (the anonymous session, {@code identity: "none"}) and in ext-plugin-post-resp
 * (counting the upstream's failed responses); at the limit the client gets an expired cookie.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityFailureLimitIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    /** /…/fail → 502, /…/missing → 404, anything else → 200. */
    private static UpstreamResponse flaky(UpstreamRequest req) {
        if (req.path().contains("/fail")) {
            return UpstreamResponse.status(502).header("Content-Type", "text/plain").body("bad gateway");
        }
        if (req.path().contains("/missing")) {
            return UpstreamResponse.status(404).header("Content-Type", "text/plain").body("not found");
        }
        return UpstreamResponse.json("{\"ok\":true}").header("X-Up", "yes");
    }

    private void failureRoute(String uri, Object... kv) {
        Object[] all = new Object[kv.length + 2];
        all[0] = "identity";
        all[1] = "none";
        System.arraycopy(kv, 0, all, 2, kv.length);
        String conf = E2e.conf(all);
        apisix.route(Route.uri(uri).preReq(E2e.session(conf)).postResp(E2e.session(conf))
                .upstream(ParityFailureLimitIT::flaky));
    }

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner);
        for (String storage : new String[] {"cookie", "memory"}) {
            failureRoute("/fl-" + storage + "/*", "storage", storage, "failure_limit", 2);
            failureRoute("/fl4-" + storage + "/*", "storage", storage, "failure_limit", 1,
                    "failure_status", List.of(404));
            failureRoute("/flb-" + storage + "/*", "storage", storage, "failure_limit", 1,
                    "bind", List.of("user-agent"));
            failureRoute("/flr-" + storage + "/*", "storage", storage, "failure_limit", 1, "remember", true,
                    "sticky_cookie_name", "route");
        }
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    private Exchange get(String uri, CookieJar jar) {
        Exchange ex = apisix.send(withCookies(uri, jar));
        assertTrue(ex.upstreamCalled(), why(ex, runner));
        jar.update(ex.response());
        return ex;
    }

    /** A fresh anonymous session on {@code base}; returns the jar. */
    private CookieJar newSession(String base) {
        CookieJar jar = new CookieJar();
        Exchange first = get(base + "/page", jar);
        assertEquals(200, first.status(), why(first, runner));
        assertEquals("yes", first.header("X-Up"), "upstream headers are kept\n" + why(first, runner));
        assertEquals("application/json", first.header("Content-Type"), why(first, runner));
        assertNotNull(E2e.sessionSetCookie(first), "an anonymous session\n" + why(first, runner));
        return jar;
    }

    private void assertNotExpired(Exchange ex) {
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertTrue(sc == null || !sc.deletes(), "the session survives\n" + why(ex, runner));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void theLimitOfFailedResponsesEndsTheSession(String storage) {
        String base = "/fl-" + storage;
        CookieJar jar = newSession(base);
        String session = jar.get("session");
        String oldCookie = jar.cookieHeader();

        Exchange fail1 = get(base + "/fail", jar);
        assertEquals(502, fail1.status(), why(fail1, runner));
        assertNotExpired(fail1);
        assertEquals(session, jar.get("session"));

        Exchange fail2 = get(base + "/fail", jar);
        assertEquals(502, fail2.status(), why(fail2, runner));
        SetCookie expired = E2e.sessionSetCookie(fail2);
        assertNotNull(expired, "the limit expires the cookie\n" + why(fail2, runner));
        assertTrue(expired.deletes(), expired.toString());
        assertNull(jar.get("session"), "the browser drops it");

        Exchange next = get(base + "/page", jar);
        assertEquals(200, next.status(), why(next, runner));
        SetCookie fresh = E2e.sessionSetCookie(next);
        assertNotNull(fresh, "the next request starts a new session\n" + why(next, runner));
        assertNotEquals(session, fresh.value());
        assertNotEquals(session.substring(0, 48), fresh.value().substring(0, 48), "a new session id");

        // the destroyed session's cookie does not come back to life
        Exchange replay = apisix.send(ClientRequest.get(base + "/page").cookie(oldCookie));
        assertEquals(200, replay.status(), why(replay, runner));
        SetCookie replaced = E2e.sessionSetCookie(replay);
        assertNotNull(replaced, "the old cookie is not accepted: a new session\n" + why(replay, runner));
        assertNotEquals(session.substring(0, 48), replaced.value().substring(0, 48));
        E2e.assertNoRunnerErrors(runner);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void statusesOutsideFailureStatusDoNotCount(String storage) {
        String base = "/fl-" + storage;
        CookieJar jar = newSession(base);
        String session = jar.get("session");
        for (int i = 0; i < 3; i++) {
            Exchange missing = get(base + "/missing", jar);
            assertEquals(404, missing.status(), why(missing, runner));
            assertNotExpired(missing);
        }
        Exchange ok = get(base + "/page", jar);
        assertNotExpired(ok);
        Exchange fail = get(base + "/fail", jar);
        assertNotExpired(fail);
        assertEquals(session, jar.get("session"), "one counted failure is under the limit of 2");
        Exchange fail2 = get(base + "/fail", jar);
        assertTrue(E2e.sessionSetCookie(fail2).deletes(), why(fail2, runner));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void failureStatusChoosesWhatCounts(String storage) {
        String base = "/fl4-" + storage;
        CookieJar jar = newSession(base);
        for (int i = 0; i < 2; i++) {
            Exchange fail = get(base + "/fail", jar);
            assertEquals(502, fail.status());
            assertNotExpired(fail);
        }
        Exchange missing = get(base + "/missing", jar);
        assertEquals(404, missing.status(), why(missing, runner));
        SetCookie sc = E2e.sessionSetCookie(missing);
        assertNotNull(sc, "404 counts with failure_status [404] and limit 1\n" + why(missing, runner));
        assertTrue(sc.deletes(), sc.toString());
        E2e.assertNoRunnerErrors(runner);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void theRememberCookieDoesNotBringADestroyedSessionBack(String storage) {
        String base = "/flr-" + storage;
        CookieJar jar = newSession(base);
        assertNotNull(jar.get("remember"), jar.toString());
        String sticky = jar.get("route");
        assertNotNull(sticky, jar.toString());
        Exchange fail = get(base + "/fail", jar);
        assertTrue(E2e.sessionSetCookie(fail).deletes(), why(fail, runner));
        Exchange next = get(base + "/page", jar);
        assertEquals(200, next.status(), why(next, runner));
        assertNotNull(E2e.sessionSetCookie(next), "a session again\n" + why(next, runner));
        assertNotEquals(sticky, jar.get("route"), "a new session, not the destroyed one restored from the remember "
                + "cookie (same family, same sticky backend)\n" + why(next, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void failuresCountForSessionsBoundToTheUserAgent(String storage) {
        String base = "/flb-" + storage;
        CookieJar jar = newSession(base);
        String session = jar.get("session");
        Exchange ok = get(base + "/page", jar);
        assertNotExpired(ok);
        assertEquals(session, jar.get("session"), "the bound session is accepted\n" + why(ok, runner));
        Exchange fail = get(base + "/fail", jar);
        SetCookie sc = E2e.sessionSetCookie(fail);
        assertNotNull(sc, "limit 1: the bound session is destroyed\n" + why(fail, runner));
        assertTrue(sc.deletes(), sc.toString());
    }
}
