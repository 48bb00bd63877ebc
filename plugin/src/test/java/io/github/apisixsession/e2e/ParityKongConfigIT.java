package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kong's session options other than cookies and logout: secret rotation, audiences, the Session-*
 * headers, metadata and hashed keys, binding, {@code storage: "kong"} and the deprecated aliases.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityKongConfigIT {
    private static final String NEW_SECRET = "e2e-rotated-secret-0c9d8e7f6a5b4c3d2e1f0a9b8c7d";
    private static final List<String> ALL_HEADERS = List.of("id", "audience", "subject", "timeout",
            "idling-timeout", "rolling-timeout", "absolute-timeout");

    private static final String BOUND_UPSTREAM = E2e.conf("identity", "upstream", "bind",
            List.of("user-agent", "ip"));
    private static final String BOUND_UPSTREAM_API = E2e.conf("identity", "upstream", "bind",
            List.of("user-agent", "ip"), "reject_status", 401);

    private static final String UPSTREAM_AUDIENCE = E2e.conf("identity", "upstream", "audience", "app-up");
    private static final String UPSTREAM_AUDIENCE_API = E2e.conf("identity", "upstream", "audience", "app-up",
            "reject_status", 401);

    private ClockFile clock;
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        clock = ClockFile.create();
        runner = E2e.start(E2e.runner().clock(clock));
        apisix = E2e.gateway(runner)
                // secret rotation
                .route(E2e.apisixRoute("/old-secret/*", "reject_status", 401))
                .route(E2e.apisixRoute("/rotated/*", "secret", NEW_SECRET, "secret_fallbacks", List.of(E2e.SECRET),
                        "reject_status", 401))
                .route(E2e.apisixRoute("/new-secret/*", "secret", NEW_SECRET, "reject_status", 401))
                // audiences sharing one cookie
                .route(E2e.apisixRoute("/aud-a/*", "audience", "app-a", "reject_status", 401))
                .route(E2e.apisixRoute("/aud-b/*", "audience", "app-b", "reject_status", 401))
                .route(Route.uri("/aud-up-login").preReq(E2e.session(UPSTREAM_AUDIENCE))
                        .postResp(E2e.session(UPSTREAM_AUDIENCE))
                        .upstream(req -> UpstreamResponse.json("{}").header("X-Session-Subject", "alice")))
                .route(Route.uri("/aud-up-api/*").preReq(E2e.session(UPSTREAM_AUDIENCE_API)))
                // Session-* headers
                .route(E2e.apisixRoute("/headers/*", "request_headers", ALL_HEADERS, "response_headers", ALL_HEADERS,
                        "idling_timeout", 900, "rolling_timeout", 3600, "absolute_timeout", 86400))
                .route(E2e.apisixRoute("/resp-headers/*", "response_headers", List.of("id", "subject"),
                        "storage", "memory"))
                // metadata and hashed keys on memory storage
                .route(E2e.apisixRoute("/hashed/*", "storage", "memory", "store_metadata", true, "hash_subject", true,
                        "hash_storage_key", true, "reject_status", 401))
                .route(E2e.apisixRoute("/hashed-key/*", "storage", "memory", "hash_storage_key", true,
                        "reject_status", 401))
                // bind
                .route(E2e.apisixRoute("/bind-ua/*", "bind", List.of("user-agent"), "reject_status", 401))
                .route(E2e.apisixRoute("/bind-ua-memory/*", "bind", List.of("user-agent"), "storage", "memory",
                        "reject_status", 401))
                .route(E2e.apisixRoute("/bind-ip/*", "bind", List.of("ip"), "reject_status", 401))
                .route(E2e.apisixRoute("/unbound/*", "reject_status", 401))
                .route(Route.uri("/bind-login").preReq(E2e.session(BOUND_UPSTREAM)).postResp(E2e.session(BOUND_UPSTREAM))
                        .upstream(req -> UpstreamResponse.json("{}").header("X-Session-Subject", "alice")))
                .route(Route.uri("/bind-api/*").preReq(E2e.session(BOUND_UPSTREAM_API)))
                // storage "kong"
                .route(E2e.apisixRoute("/kong/*", "storage", "kong", "reject_status", 401))
                // Kong's deprecated shorthand fields
                .route(E2e.apisixRoute("/legacy/*", "cookie_lifetime", 4000, "cookie_idletime", 120,
                        "cookie_samesite", "off", "cookie_httponly", false, "cookie_persistent", true,
                        "cookie_discard", 5, "cookie_renew", 600,
                        "response_headers", List.of("rolling-timeout", "idling-timeout")));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
        if (clock != null) {
            clock.close();
        }
    }

    private CookieJar login(String base) {
        return E2e.login(apisix, runner, base + "/login");
    }

    private Exchange get(String uri, CookieJar jar) {
        return apisix.send(withCookies(uri, jar));
    }

    private void assertRejected(Exchange ex, String why) {
        assertEquals(401, ex.status(), why + "\n" + why(ex, runner));
        assertFalse(ex.upstreamCalled());
    }

    // ------------------------------------------------------------ secret_fallbacks

    @Test
    void secretFallbacksAcceptCookiesOfTheOldSecret() {
        CookieJar old = login("/old-secret");
        E2e.assertOk(get("/rotated/data", old), runner, "fiona");
        assertRejected(get("/new-secret/data", old), "without the fallback the old cookie is refused");
        // the rotated route issues cookies under its new secret, which the old route cannot read
        CookieJar fresh = login("/rotated");
        E2e.assertOk(get("/new-secret/data", fresh), runner, "fiona");
        assertRejected(get("/old-secret/data", fresh), "a cookie of the new secret is not the old secret's");
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ audience

    @Test
    void twoAudiencesShareOneCookie() {
        CookieJar jar = login("/aud-a");
        E2e.assertOk(get("/aud-a/data", jar), runner, "fiona");
        assertRejected(get("/aud-b/data", jar), "app-b has no session in the cookie yet");

        // logging in on app-b keeps app-a's session in the same cookie
        Exchange b = apisix.send(withCookies("/aud-b/login", jar).apikey(E2e.FIONA_KEY));
        E2e.assertOk(b, runner, "fiona");
        assertNotNull(E2e.sessionSetCookie(b), why(b, runner));
        jar.update(b.response());
        assertEquals(1, jar.asMap().size(), jar.toString());
        E2e.assertOk(get("/aud-a/data", jar), runner, "fiona");
        E2e.assertOk(get("/aud-b/data", jar), runner, "fiona");

        // logging out of app-b leaves app-a logged in: a new cookie without app-b
        Exchange logout = apisix.send(ClientRequest.post("/aud-b/x?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout, runner));
        assertFalse(logout.upstreamCalled());
        SetCookie sc = E2e.sessionSetCookie(logout);
        assertNotNull(sc, why(logout, runner));
        assertFalse(sc.deletes(), "the cookie stays for app-a: " + sc);
        jar.update(logout.response());
        E2e.assertOk(get("/aud-a/data", jar), runner, "fiona");
        assertRejected(get("/aud-b/data", jar), "logged out of app-b");
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void anUpstreamLoginKeepsTheOtherAudiencesOfTheCookie() {
        CookieJar jar = login("/aud-a");
        Exchange up = apisix.send(ClientRequest.post("/aud-up-login").cookies(jar));
        assertEquals(200, up.status(), why(up, runner));
        assertNotNull(E2e.sessionSetCookie(up), why(up, runner));
        jar.update(up.response());
        E2e.assertOk(get("/aud-up-api/orders", jar), runner, "alice");
        E2e.assertOk(get("/aud-a/data", jar), runner, "fiona");
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ request_headers / response_headers

    @Test
    void requestAndResponseHeadersDescribeTheSession() {
        E2e.midSecond(clock);
        Exchange ex = apisix.send(ClientRequest.get("/headers/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(ex, runner, "fiona");
        for (String[] h : new String[][] {{"Session-Audience", "default"}, {"Session-Subject", "fiona"},
                {"Session-Timeout", "900"}, {"Session-Idling-Timeout", "900"}, {"Session-Rolling-Timeout", "3600"},
                {"Session-Absolute-Timeout", "86400"}}) {
            assertEquals(h[1], ex.upstreamHeader(h[0]), "upstream " + h[0] + "\n" + why(ex, runner));
            assertEquals(h[1], ex.header(h[0]), "client " + h[0] + "\n" + why(ex, runner));
        }
        String id = ex.upstreamHeader("Session-Id");
        assertNotNull(id, why(ex, runner));
        assertTrue(id.matches("[A-Za-z0-9_-]{43}"), "32 bytes base64url: " + id);
        assertEquals(id, ex.header("Session-Id"));

        CookieJar jar = new CookieJar().update(ex.response());
        clock.advance(Duration.ofSeconds(5));
        Exchange again = get("/headers/data", jar);
        E2e.assertOk(again, runner, "fiona");
        assertEquals(id, again.upstreamHeader("Session-Id"), "same session, same id\n" + why(again, runner));
        assertEquals("fiona", again.header("Session-Subject"));
        assertEquals("895", again.upstreamHeader("Session-Timeout"), "idling timeout left 5 s after the login");

        // an anonymous request has no session, so no Session-* headers
        Exchange anon = apisix.send(ClientRequest.get("/headers/data"));
        assertEquals(200, anon.status(), why(anon, runner));
        assertNull(anon.upstreamHeader("Session-Id"), why(anon, runner));
        assertNull(anon.header("Session-Subject"), why(anon, runner));
    }

    @Test
    void responseHeadersOnlyReachTheClient() {
        Exchange ex = apisix.send(ClientRequest.get("/resp-headers/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(ex, runner, "fiona");
        assertEquals("fiona", ex.header("Session-Subject"), why(ex, runner));
        assertNotNull(ex.header("Session-Id"), why(ex, runner));
        assertNull(ex.upstreamHeader("Session-Id"), why(ex, runner));
        assertNull(ex.upstreamHeader("Session-Subject"), why(ex, runner));
        assertNull(ex.header("Session-Timeout"), "only the configured headers\n" + why(ex, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ metadata, hashed subject and keys

    @ParameterizedTest
    @ValueSource(strings = {"/hashed", "/hashed-key"})
    void hashedKeysAndSubjectsBehaveTheSameFromOutside(String base) {
        CookieJar jar = login(base);
        assertEquals(110, jar.get("session").length(), "server-side: the cookie is the header only");
        for (int i = 0; i < 2; i++) {
            E2e.assertOk(get(base + "/data", jar), runner, "fiona");
        }
        String old = jar.cookieHeader();
        Exchange logout = apisix.send(ClientRequest.post(base + "/x?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout, runner));
        assertTrue(E2e.sessionSetCookie(logout).deletes(), why(logout, runner));
        assertRejected(apisix.send(ClientRequest.get(base + "/data").cookie(old)), "deleted from storage");
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ bind

    @ParameterizedTest
    @ValueSource(strings = {"/bind-ua", "/bind-ua-memory"})
    void aSessionBoundToTheUserAgentRefusesAnotherOne(String base) {
        Exchange ex = apisix.send(ClientRequest.get(base + "/login").apikey(E2e.FIONA_KEY)
                .setHeader("User-Agent", "Firefox/128.0"));
        E2e.assertOk(ex, runner, "fiona");
        CookieJar jar = new CookieJar().update(ex.response());
        E2e.assertOk(apisix.send(withCookies(base + "/data", jar).setHeader("User-Agent", "Firefox/128.0")),
                runner, "fiona");
        assertRejected(apisix.send(withCookies(base + "/data", jar).setHeader("User-Agent", "Chrome/126.0")),
                "another user agent");
        E2e.assertOk(apisix.send(withCookies(base + "/data", jar).setHeader("User-Agent", "Firefox/128.0")),
                runner, "fiona");
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void aSessionBoundToTheAddressRefusesAnotherOne() {
        Exchange ex = apisix.send(ClientRequest.get("/bind-ip/login").apikey(E2e.FIONA_KEY).remoteAddr("10.1.2.3"));
        E2e.assertOk(ex, runner, "fiona");
        CookieJar jar = new CookieJar().update(ex.response());
        E2e.assertOk(apisix.send(withCookies("/bind-ip/data", jar).remoteAddr("10.1.2.3")), runner, "fiona");
        assertRejected(apisix.send(withCookies("/bind-ip/data", jar).remoteAddr("10.9.9.9")), "another address");
    }

    /**
     * The login's response phase binds APISIX's {@code remote_addr}, the next request's phase its
     * {@code src_ip} bytes: one client must give one MAC, IPv4, IPv6 (any form) and IPv4-mapped alike.
     */
    @ParameterizedTest
    @CsvSource({"10.1.2.3, 10.9.9.9", "2001:db8::1, 2001:db8::2", "2001:db8:0:0:0:0:0:1, ::ffff:10.1.2.3",
            "::1, 127.0.0.1", "::ffff:10.1.2.3, 10.1.2.3"})
    void anUpstreamLoginBindsTheSessionToTheLoginRequest(String client, String other) {
        Exchange login = apisix.send(ClientRequest.post("/bind-login").setHeader("User-Agent", "Firefox/128.0")
                .remoteAddr(client));
        assertEquals(200, login.status(), why(login, runner));
        CookieJar jar = new CookieJar().update(login.response());
        assertNotNull(jar.get("session"), why(login, runner));
        E2e.assertOk(apisix.send(withCookies("/bind-api/data", jar).setHeader("User-Agent", "Firefox/128.0")
                .remoteAddr(client)), runner, "alice");
        assertRejected(apisix.send(withCookies("/bind-api/data", jar).setHeader("User-Agent", "Chrome/126.0")
                .remoteAddr(client)), "another user agent");
        assertRejected(apisix.send(withCookies("/bind-api/data", jar).setHeader("User-Agent", "Firefox/128.0")
                .remoteAddr(other)), "another address");
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void aBindingRouteRefusesAnUnboundCookie() {
        CookieJar unbound = login("/unbound");
        E2e.assertOk(get("/unbound/data", unbound), runner, "fiona");
        assertRejected(get("/bind-ua/data", unbound), "a cookie without the binding");
    }

    // ------------------------------------------------------------ storage "kong"

    @Test
    void kongStorageIsServedByMemory() {
        CookieJar jar = login("/kong");
        assertEquals(110, jar.get("session").length(), "server-side: the cookie is the header only");
        E2e.assertOk(get("/kong/data", jar), runner, "fiona");
        String old = jar.cookieHeader();
        Exchange logout = apisix.send(ClientRequest.post("/kong/x?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout, runner));
        assertRejected(apisix.send(ClientRequest.get("/kong/data").cookie(old)), "deleted from storage");
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ deprecated aliases

    @Test
    void deprecatedAliasesAreAcceptedAndEffective() {
        Exchange ex = apisix.send(ClientRequest.get("/legacy/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(ex, runner, "fiona");
        assertEquals("4000", ex.header("Session-Rolling-Timeout"), "cookie_lifetime → rolling_timeout\n" + why(ex, runner));
        assertEquals("120", ex.header("Session-Idling-Timeout"), "cookie_idletime → idling_timeout\n" + why(ex, runner));
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertNotNull(sc, why(ex, runner));
        assertEquals("Lax", sc.attribute("SameSite"), "cookie_samesite \"off\" → Lax: " + sc);
        assertFalse(sc.httpOnly(), "cookie_httponly false: " + sc);
        SetCookie remember = E2e.setCookie(ex, "remember");
        assertNotNull(remember, "cookie_persistent → remember\n" + why(ex, runner));
        assertNotNull(remember.attribute("Max-Age"), remember.toString());
        CookieJar jar = new CookieJar().update(ex.response());
        E2e.assertOk(get("/legacy/data", jar), runner, "fiona");
        assertTrue(runner.logs().contains("cookie_lifetime is deprecated"), runner.logs());
        E2e.assertNoRunnerErrors(runner);
    }
}
