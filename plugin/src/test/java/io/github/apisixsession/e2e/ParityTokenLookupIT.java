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
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamRequest;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway middleware's options: {@code key_lookup} (the token in a header or a query argument
 * instead of a cookie), {@code map_headers} and {@code forward_session}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityTokenLookupIT {
    private static final String TOKEN_HEADER = "X-Session-Token";
    private static final String HEADER_UPSTREAM = E2e.conf("identity", "upstream",
            "key_lookup", "header:" + TOKEN_HEADER);
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    private static UpstreamResponse loginService(UpstreamRequest req) {
        if (!"user=alice&password=secret".equals(req.bodyAsString())) {
            return UpstreamResponse.status(401).body("no");
        }
        return UpstreamResponse.json("{}")
                .header("X-Session-Subject", "alice")
                .header("X-Session-Groups", "admin")
                .header("X-Session-Data-Tenant", "acme")
                .header("X-Session-Data-User-Id", "42");
    }

    @BeforeAll
    void start() {
        runner = E2e.start();
        Map<String, String> map = Map.of("X-Tenant", "tenant", "X-User-Id", "user_id", "X-Who", "subject");
        String mapConf = E2e.conf("identity", "upstream", "map_headers", map);
        String apiConf = E2e.conf("identity", "upstream", "map_headers", map, "reject_status", 401);
        apisix = E2e.gateway(runner)
                .route(E2e.apisixRoute("/hdr/*", "key_lookup", "header:" + TOKEN_HEADER, "reject_status", 401))
                .route(E2e.apisixRoute("/hdr-memory/*", "key_lookup", "header:" + TOKEN_HEADER, "storage", "memory",
                        "reject_status", 401))
                .route(E2e.apisixRoute("/hdr-hidden/*", "key_lookup", "header:" + TOKEN_HEADER,
                        "forward_session", false, "reject_status", 401))
                .route(E2e.apisixRoute("/query/*", "key_lookup", "query:session_token", "reject_status", 401))
                .route(E2e.apisixRoute("/fwd/*", "forward_session", false, "remember", true))
                .route(E2e.apisixRoute("/fwd-default/*"))
                .route(E2e.apisixRoute("/map-apisix/*", "map_headers", Map.of("X-Who", "subject")))
                .route(Route.uri("/map-login").preReq(E2e.session(mapConf)).postResp(E2e.session(mapConf))
                        .upstream(ParityTokenLookupIT::loginService))
                .route(Route.uri("/map-api/*").preReq(E2e.session(apiConf)))
                .route(Route.uri("/hdr-login").preReq(E2e.session(HEADER_UPSTREAM))
                        .postResp(E2e.session(HEADER_UPSTREAM)).upstream(ParityTokenLookupIT::loginService))
                .route(Route.uri("/hdr-api/*").preReq(E2e.session(HEADER_UPSTREAM)));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    // ------------------------------------------------------------ key_lookup

    @ParameterizedTest
    @ValueSource(strings = {"/hdr", "/hdr-memory"})
    void headerLookupSendsTheTokenInAResponseHeaderAndReadsItFromTheRequest(String base) {
        Exchange login = apisix.send(ClientRequest.get(base + "/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(login, runner, "fiona");
        assertTrue(login.setCookies().isEmpty(), "no Set-Cookie for header clients\n" + why(login, runner));
        String token = login.header(TOKEN_HEADER);
        assertNotNull(token, why(login, runner));
        assertTrue(token.length() >= 110 && token.matches("[A-Za-z0-9_-]+"), token);

        Exchange api = apisix.send(ClientRequest.get(base + "/data").header(TOKEN_HEADER, token));
        E2e.assertOk(api, runner, "fiona");
        assertEquals(token, api.upstreamHeader(TOKEN_HEADER), "forward_session defaults to true");
        assertNull(api.header(TOKEN_HEADER), "nothing to renew\n" + why(api, runner));

        Exchange none = apisix.send(ClientRequest.get(base + "/data"));
        assertEquals(401, none.status(), why(none, runner));
        // the token in a cookie of that name is not read
        Exchange asCookie = apisix.send(ClientRequest.get(base + "/data").cookie(TOKEN_HEADER + "=" + token));
        assertEquals(401, asCookie.status(), why(asCookie, runner));

        String old = token;
        Exchange logout = apisix.send(ClientRequest.post(base + "/x?session_logout").header(TOKEN_HEADER, token));
        assertEquals(200, logout.status(), why(logout, runner));
        assertFalse(logout.upstreamCalled());
        assertTrue(logout.setCookies().isEmpty(), why(logout, runner));
        Exchange replay = apisix.send(ClientRequest.get(base + "/data").header(TOKEN_HEADER, old));
        assertEquals(401, replay.status(), "logged out\n" + why(replay, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void headerLookupWithForwardSessionFalseHidesTheToken() {
        Exchange login = apisix.send(ClientRequest.get("/hdr-hidden/login").apikey(E2e.FIONA_KEY));
        String token = login.header(TOKEN_HEADER);
        assertNotNull(token, why(login, runner));
        Exchange api = apisix.send(ClientRequest.get("/hdr-hidden/data").header(TOKEN_HEADER, token));
        E2e.assertOk(api, runner, "fiona");
        assertNull(api.upstreamHeader(TOKEN_HEADER), "the token does not reach the upstream\n" + why(api, runner));
    }

    @Test
    void queryLookupReadsTheTokenFromTheQueryString() {
        Exchange login = apisix.send(ClientRequest.get("/query/login").apikey(E2e.FIONA_KEY));
        E2e.assertOk(login, runner, "fiona");
        assertTrue(login.setCookies().isEmpty(), why(login, runner));
        String token = login.header("session_token");
        assertNotNull(token, "the token comes back in a response header\n" + why(login, runner));

        Exchange api = apisix.send(ClientRequest.get("/query/data?session_token=" + token + "&page=2"));
        E2e.assertOk(api, runner, "fiona");
        assertEquals("2", api.upstreamRequest().arg("page"));
        Exchange none = apisix.send(ClientRequest.get("/query/data?page=2"));
        assertEquals(401, none.status(), why(none, runner));
        Exchange forged = apisix.send(ClientRequest.get("/query/data?session_token=" + token.substring(0, 100)));
        assertEquals(401, forged.status(), why(forged, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ forward_session

    @Test
    void forwardSessionFalseKeepsSessionCookiesFromTheUpstream() {
        Exchange login = apisix.send(ClientRequest.get("/fwd/login").apikey(E2e.FIONA_KEY)
                .cookie("theme=dark"));
        E2e.assertOk(login, runner, "fiona");
        assertEquals("theme=dark", login.upstreamHeader("Cookie"), why(login, runner));
        CookieJar jar = new CookieJar().put("theme", "dark").update(login.response()).put("lang", "en");
        assertNotNull(jar.get("session"));
        assertNotNull(jar.get("remember"));

        Exchange api = apisix.send(E2e.withCookies("/fwd/data", jar));
        E2e.assertOk(api, runner, "fiona");
        assertEquals("theme=dark; lang=en", api.upstreamHeader("Cookie"),
                "the session and remember cookies are stripped, the others kept\n" + why(api, runner));

        Exchange only = apisix.send(ClientRequest.get("/fwd/data").cookie("session=" + jar.get("session")));
        E2e.assertOk(only, runner, "fiona");
        assertNull(only.upstreamHeader("Cookie"), "no Cookie header left\n" + why(only, runner));

        // by default the upstream sees the session cookie
        CookieJar plain = E2e.login(apisix, runner, "/fwd-default/login").put("theme", "dark");
        Exchange fwd = apisix.send(E2e.withCookies("/fwd-default/data", plain));
        E2e.assertOk(fwd, runner, "fiona");
        assertTrue(fwd.upstreamHeader("Cookie").contains("session=" + plain.get("session")), why(fwd, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    // ------------------------------------------------------------ map_headers

    @Test
    void mapHeadersSendSessionDataToTheUpstream() {
        Exchange login = apisix.send(ClientRequest.post("/map-login").form("user=alice&password=secret"));
        assertEquals(200, login.status(), why(login, runner));
        CookieJar jar = new CookieJar().update(login.response());
        assertNotNull(jar.get("session"), why(login, runner));

        Exchange api = apisix.send(E2e.withCookies("/map-api/orders", jar)
                .header("X-Tenant", "evil").header("X-User-Id", "1"));
        E2e.assertOk(api, runner, "alice");
        assertEquals("acme", api.upstreamHeader("X-Tenant"), why(api, runner));
        assertEquals("42", api.upstreamHeader("X-User-Id"), why(api, runner));
        assertEquals("alice", api.upstreamHeader("X-Who"), why(api, runner));
        assertEquals(1, api.upstreamRequest().headerValues("X-Tenant").size(), "the forged value is replaced");

        Exchange forged = apisix.send(ClientRequest.get("/map-api/orders")
                .header("X-Tenant", "evil").header("X-Who", "mallory"));
        assertEquals(401, forged.status(), why(forged, runner));

        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void mapHeadersStripForgedValuesWithoutASession() {
        Exchange anon = apisix.send(ClientRequest.get("/map-apisix/data").header("X-Who", "mallory"));
        assertEquals(200, anon.status(), why(anon, runner));
        assertNull(anon.upstreamHeader("X-Who"), "a forged mapped header is removed\n" + why(anon, runner));

        Exchange login = apisix.send(ClientRequest.get("/map-apisix/login").apikey(E2e.FIONA_KEY)
                .header("X-Who", "mallory"));
        E2e.assertOk(login, runner, "fiona");
        assertEquals("fiona", login.upstreamHeader("X-Who"), why(login, runner));
        CookieJar jar = new CookieJar().update(login.response());
        Exchange api = apisix.send(E2e.withCookies("/map-apisix/data", jar).header("X-Who", "mallory"));
        E2e.assertOk(api, runner, "fiona");
        assertEquals("fiona", api.upstreamHeader("X-Who"), why(api, runner));
    }

    @Test
    void anUpstreamLoginSendsTheTokenInTheHeader() {
        Exchange login = apisix.send(ClientRequest.post("/hdr-login").form("user=alice&password=secret"));
        assertEquals(200, login.status(), why(login, runner));
        assertTrue(login.setCookies().isEmpty(), why(login, runner));
        assertEquals("application/json", login.header("Content-Type"), why(login, runner));
        assertNull(login.header("X-Session-Subject"), "identity headers stay hidden");
        String token = login.header(TOKEN_HEADER);
        assertNotNull(token, why(login, runner));
        Exchange api = apisix.send(ClientRequest.get("/hdr-api/orders").header(TOKEN_HEADER, token));
        E2e.assertOk(api, runner, "alice");
        assertEquals("admin", api.upstreamHeader("X-Consumer-Groups"), why(api, runner));
        E2e.assertNoRunnerErrors(runner);
    }
}
