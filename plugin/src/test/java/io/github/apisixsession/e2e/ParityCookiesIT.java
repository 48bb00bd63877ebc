package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
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
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Kong's cookie options through the runner: each route sets one option, fiona logs in with her
 * key, the Set-Cookie carries the attribute, and the cookie alone then restores her identity.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityCookiesIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner)
                .route(E2e.apisixRoute("/named/*", "cookie_name", "sid", "reject_status", 401))
                .route(E2e.apisixRoute("/scoped/*", "cookie_path", "/scoped"))
                .route(E2e.apisixRoute("/domain/*", "cookie_domain", "example.com"))
                .route(E2e.apisixRoute("/lax/*", "cookie_same_site", "Lax"))
                .route(E2e.apisixRoute("/cross-site/*", "cookie_same_site", "None", "cookie_secure", false))
                .route(E2e.apisixRoute("/no-same-site/*", "cookie_same_site", "Default"))
                .route(E2e.apisixRoute("/scriptable/*", "cookie_http_only", false))
                .route(E2e.apisixRoute("/insecure/*", "cookie_secure", false, "cookie_same_site", "Lax"))
                .route(E2e.apisixRoute("/priority/*", "cookie_priority", "High"))
                .route(E2e.apisixRoute("/partitioned/*", "cookie_partitioned", true))
                .route(E2e.apisixRoute("/host-prefix/*", "cookie_name", "__Host-session", "cookie_secure", false))
                .route(E2e.apisixRoute("/persistent/*", "cookie_session_only", false, "rolling_timeout", 3600,
                        "absolute_timeout", 600))
                .route(E2e.apisixRoute("/persistent-memory/*", "cookie_session_only", false, "storage", "memory",
                        "rolling_timeout", 1200))
                .route(E2e.apisixRoute("/plain/*"));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    /** Logs fiona in on {@code base}, checks the cookie {@code name} restores her; its Set-Cookie. */
    private SetCookie loginWith(String base, String name) {
        Exchange ex = apisix.send(ClientRequest.get(base + "/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(ex, runner, "fiona");
        SetCookie sc = E2e.setCookie(ex, name);
        assertNotNull(sc, "Set-Cookie " + name + "\n" + why(ex, runner));
        assertFalse(sc.deletes(), sc.toString());
        CookieJar jar = new CookieJar().update(ex.response());
        assertEquals(1, jar.asMap().size(), "one cookie only: " + jar);
        Exchange again = apisix.send(E2e.withCookies(base + "/data", jar));
        E2e.assertOk(again, runner, "fiona");
        return sc;
    }

    @Test
    void cookieNameRenamesTheSessionCookie() {
        SetCookie sc = loginWith("/named", "sid");
        assertEquals("/", sc.attribute("Path"));
        Exchange ex = apisix.send(ClientRequest.get("/named/login").apikey(E2e.FIONA_KEY));
        assertNull(ex.response().setCookie("session"), "no cookie under the default name\n" + why(ex, runner));
        // a cookie under the default name is not read by this route
        Exchange wrong = apisix.send(ClientRequest.get("/named/data").cookie("session=" + E2e.setCookie(ex, "sid").value()));
        assertEquals(401, wrong.status(), why(wrong, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void cookiePathScopesTheCookie() {
        assertEquals("/scoped", loginWith("/scoped", "session").attribute("Path"));
    }

    @Test
    void cookieDomainIsSent() {
        assertEquals("example.com", loginWith("/domain", "session").attribute("Domain"));
        assertNull(loginWith("/plain", "session").attribute("Domain"), "no Domain by default");
    }

    @Test
    void cookieSameSiteLaxAndDefault() {
        assertEquals("Lax", loginWith("/lax", "session").attribute("SameSite"));
        assertEquals("Strict", loginWith("/plain", "session").attribute("SameSite"), "Strict by default");
        SetCookie none = loginWith("/no-same-site", "session");
        assertFalse(none.has("SameSite"), "\"Default\" omits the attribute: " + none);
    }

    @Test
    void cookieSameSiteNoneForcesSecure() {
        SetCookie sc = loginWith("/cross-site", "session");
        assertEquals("None", sc.attribute("SameSite"));
        assertTrue(sc.secure(), "SameSite=None needs Secure even with cookie_secure false: " + sc);
    }

    @Test
    void cookieHttpOnlyFalseLetsScriptsReadTheCookie() {
        SetCookie sc = loginWith("/scriptable", "session");
        assertFalse(sc.httpOnly(), sc.toString());
        assertTrue(sc.secure());
        assertTrue(loginWith("/plain", "session").httpOnly(), "HttpOnly by default");
    }

    @Test
    void cookieSecureFalseDropsSecure() {
        SetCookie sc = loginWith("/insecure", "session");
        assertFalse(sc.secure(), sc.toString());
        assertEquals("Lax", sc.attribute("SameSite"));
        assertTrue(sc.httpOnly());
    }

    @Test
    void cookiePriorityIsSent() {
        assertEquals("High", loginWith("/priority", "session").attribute("Priority"));
        assertFalse(loginWith("/plain", "session").has("Priority"), "no Priority by default");
    }

    @Test
    void cookiePartitionedIsSent() {
        SetCookie sc = loginWith("/partitioned", "session");
        assertTrue(sc.has("Partitioned"), sc.toString());
        assertTrue(sc.secure());
        assertFalse(loginWith("/plain", "session").has("Partitioned"));
    }

    @Test
    void hostPrefixForcesSecureAndRootPath() {
        SetCookie sc = loginWith("/host-prefix", "__Host-session");
        assertTrue(sc.secure(), "__Host- cookies must be Secure: " + sc);
        assertEquals("/", sc.attribute("Path"));
        assertNull(sc.attribute("Domain"));
    }

    @Test
    void sessionOnlyByDefault() {
        SetCookie sc = loginWith("/plain", "session");
        assertNull(sc.attribute("Max-Age"), sc.toString());
        assertNull(sc.attribute("Expires"), sc.toString());
    }

    @Test
    void cookieSessionOnlyFalseSendsAPersistentCookie() {
        for (String[] c : new String[][] {{"/persistent", "600"}, {"/persistent-memory", "1200"}}) {
            long before = System.currentTimeMillis() / 1000;
            SetCookie sc = loginWith(c[0], "session");
            long after = System.currentTimeMillis() / 1000;
            assertEquals(c[1], sc.attribute("Max-Age"), "the earliest timeout bounds the cookie: " + sc);
            long expires = ZonedDateTime.parse(sc.attribute("Expires"), DateTimeFormatter.RFC_1123_DATE_TIME)
                    .toEpochSecond();
            long maxAge = Long.parseLong(c[1]);
            assertTrue(expires >= before + maxAge && expires <= after + maxAge, sc.toString());
        }
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void logoutExpiresTheCookieWithTheSameNamePathAndDomain() {
        for (String[] c : new String[][] {{"/scoped", "session", "/scoped", null}, {"/domain", "session", "/", "example.com"},
                {"/named", "sid", "/", null}, {"/host-prefix", "__Host-session", "/", null}}) {
            Exchange login = apisix.send(ClientRequest.get(c[0] + "/login").apikey(E2e.FIONA_KEY));
            CookieJar jar = new CookieJar().update(login.response());
            Exchange logout = apisix.send(ClientRequest.post(c[0] + "/x?session_logout").cookies(jar));
            assertEquals(200, logout.status(), why(logout, runner));
            SetCookie sc = E2e.setCookie(logout, c[1]);
            assertNotNull(sc, c[1] + " expired\n" + why(logout, runner));
            assertTrue(sc.deletes(), sc.toString());
            assertEquals(c[2], sc.attribute("Path"), "the browser only drops a cookie of the same path: " + sc);
            assertEquals(c[3], sc.attribute("Domain"), sc.toString());
            assertTrue(sc.secure(), sc.toString());
        }
        E2e.assertNoRunnerErrors(runner);
    }
}
