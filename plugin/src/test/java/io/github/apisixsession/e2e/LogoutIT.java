package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Logout ends the request with expired cookies and the old cookie is dead afterwards. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LogoutIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner);
        for (String storage : new String[] {"cookie", "memory"}) {
            apisix.route(E2e.apisixRoute("/" + storage + "/*", "storage", storage, "reject_status", 401));
            apisix.route(E2e.apisixRoute("/" + storage + "-body/*", "storage", storage, "reject_status", 401,
                    "read_body_for_logout", true));
        }
    }

    @AfterAll
    void stop() {
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
    }

    private static void assertLogoutResponse(Exchange ex, RunnerProcess runner) {
        assertEquals(200, ex.status(), why(ex, runner));
        assertFalse(ex.upstreamCalled(), "logout is answered by the runner (Stop)\n" + why(ex, runner));
        assertTrue(ex.transcriptContains("Stop{"), ex.transcriptText());
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertNotNull(sc, "an expiring session cookie\n" + why(ex, runner));
        assertEquals("", sc.value());
        assertEquals("0", sc.attribute("Max-Age"));
        assertEquals("Thu, 01 Jan 1970 00:00:01 GMT", sc.attribute("Expires"));
        assertEquals("/", sc.attribute("Path"));
        assertTrue(sc.deletes());
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void postWithLogoutQueryArgEndsTheSession(String storage) {
        CookieJar jar = E2e.login(apisix, runner, "/" + storage + "/login");
        String oldCookie = jar.cookieHeader();
        assertIdentity(apisix.send(withCookies("/" + storage + "/data", jar)), runner, "fiona");

        Exchange logout = apisix.send(ClientRequest.post("/" + storage + "/anything?session_logout").cookies(jar));
        assertLogoutResponse(logout, runner);
        jar.update(logout.response());
        assertNull(jar.get("session"), "the browser drops the cookie");

        // replaying the old cookie: memory storage deleted it, cookie storage revoked its id
        Exchange replay = apisix.send(ClientRequest.get("/" + storage + "/data").cookie(oldCookie));
        assertEquals(401, replay.status(), "old cookie rejected after logout\n" + why(replay, runner));
        assertFalse(replay.upstreamCalled());
    }

    @ParameterizedTest
    @ValueSource(strings = {"DELETE"})
    void deleteIsALogoutMethodByDefault(String method) {
        CookieJar jar = E2e.login(apisix, runner, "/cookie/login");
        Exchange logout = apisix.send(ClientRequest.of(method, "/cookie/x?session_logout").cookies(jar));
        assertLogoutResponse(logout, runner);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void formBodyLogsOutWhenReadBodyForLogoutIsOn(String storage) {
        CookieJar jar = E2e.login(apisix, runner, "/" + storage + "-body/login");
        String oldCookie = jar.cookieHeader();
        Exchange logout = apisix.send(ClientRequest.post("/" + storage + "-body/anything")
                .cookies(jar).form("session_logout=1"));
        assertLogoutResponse(logout, runner);
        assertTrue(logout.transcriptContains("ExtraInfo ReqBody"), "the runner read the body\n" + logout.transcriptText());
        Exchange replay = apisix.send(ClientRequest.get("/" + storage + "-body/data").cookie(oldCookie));
        assertEquals(401, replay.status(), why(replay, runner));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void formBodyIsIgnoredByDefault(String storage) {
        CookieJar jar = E2e.login(apisix, runner, "/" + storage + "/login");
        Exchange ex = apisix.send(ClientRequest.post("/" + storage + "/anything").cookies(jar).form("session_logout=1"));
        assertIdentity(ex, runner, "fiona");
        assertFalse(ex.transcriptContains("ExtraInfo ReqBody"), ex.transcriptText());
        assertIdentity(apisix.send(withCookies("/" + storage + "/data", jar)), runner, "fiona");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void getWithLogoutArgIsNotALogout(String storage) {
        CookieJar jar = E2e.login(apisix, runner, "/" + storage + "/login");
        Exchange ex = apisix.send(withCookies("/" + storage + "/anything?session_logout", jar));
        assertIdentity(ex, runner, "fiona");
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertTrue(sc == null || !sc.deletes(), "no expiring cookie on GET\n" + why(ex, runner));
        assertIdentity(apisix.send(withCookies("/" + storage + "/data", jar)), runner, "fiona");
    }
}
