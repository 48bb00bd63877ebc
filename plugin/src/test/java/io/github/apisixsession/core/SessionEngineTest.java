package io.github.apisixsession.core;

import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionEngineTest extends EngineTestBase {

    @Test
    void loginWithConsumerIssuesKongStyleCookieAndKeepsApisixHeaders() throws Exception {
        SessionRoute route = route("\"anonymous_consumer\":\"anon\"");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")
                .header("X-Consumer-Username", "fiona").header("X-Credential-Identifier", "cred-1")
                .header("X-Consumer-Groups", "forged-admins")));
        assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"));
        assertEquals("<absent>", header(p.requestHeaders(), "X-Credential-Identifier"),
                "APISIX's credential header stays as the auth plugin set it");
        assertNull(header(p.requestHeaders(), "X-Consumer-Groups"), "APISIX sets no groups header: a client's is forged");
        String sc = setCookies(p.responseHeaders()).get(0);
        assertTrue(sc.startsWith("session="), sc);
        assertTrue(sc.endsWith("; Path=/; SameSite=Strict; HttpOnly"), sc);
        assertTrue(sc.indexOf(';') > "session=".length() + 110, "cookie storage carries header and ciphertext");
    }

    @Test
    void cookieAloneGivesTheUpstreamTheSubject() throws Exception {
        SessionRoute route = route("\"anonymous_consumer\":\"anon\"");
        String cookie = login(route, "fiona");
        clock.advance(5);
        TestRequest request = TestRequest.get("/").consumer("anon").cookie(cookie)
                .header("X-Consumer-Username", "anon").header("X-Consumer-Groups", "forged");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, request));
        assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"));
        assertNull(header(p.requestHeaders(), "X-Consumer-Groups"), "a forged header is removed");
        assertTrue(setCookies(p.responseHeaders()).isEmpty(), "nothing to renew after 5 s");
    }

    @Test
    void forgedIdentityWithoutSessionIsRemoved() throws Exception {
        SessionRoute route = route("\"anonymous_consumer\":\"anon\"");
        TestRequest request = TestRequest.get("/").consumer("anon").header("x-consumer-username", "mallory")
                .header("X-Credential-Identifier", "forged");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, request));
        assertNull(header(p.requestHeaders(), "X-Consumer-Username"));
        assertNull(header(p.requestHeaders(), "X-Credential-Identifier"));
        assertTrue(p.responseHeaders().isEmpty());
    }

    @Test
    void rejectStatusAnswersWithJson() throws Exception {
        SessionRoute route = route("\"reject_status\":401");
        RequestDecision.Respond r = assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, TestRequest.get("/")));
        assertEquals(401, r.status());
        assertEquals("application/json", header(r.headers(), "Content-Type"));
        assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("\"message\""));
    }

    @Test
    void touchAfterIdleActivityKeepsTheSessionId() throws Exception {
        SessionRoute route = route("");
        String cookie = login(route, "fiona");
        clock.advance(61);
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)));
        String touched = cookieOf(p.responseHeaders());
        assertNotEquals(cookie, touched);
        // bytes 3..35 of the header are the session id: base64 chars 4..46 cover them fully
        assertEquals(cookie.substring(12, 50), touched.substring(12, 50), "same session id");
        assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void refreshPastThreeQuartersOfRollingTimeoutIssuesNewId() throws Exception {
        SessionRoute route = route("\"rolling_timeout\":100,\"idling_timeout\":0");
        String cookie = login(route, "fiona");
        clock.advance(75);
        assertTrue(setCookies(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .responseHeaders()).isEmpty(), "75 s is not past ceil(0.75*100)");
        clock.advance(1);
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)));
        String renewed = cookieOf(p.responseHeaders());
        assertNotEquals(cookie.substring(12, 50), renewed.substring(12, 50), "new session id");
        clock.advance(50);
        RequestDecision.Proceed later = proceed(engine.onRequest(route, TestRequest.get("/").cookie(renewed)));
        assertEquals("fiona", header(later.requestHeaders(), "X-Consumer-Username"), "renewed cookie lives on");
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"), "the old cookie's rolling timeout has passed");
    }

    @Test
    void timeoutsEndTheSession() throws Exception {
        SessionRoute idle = route("\"idling_timeout\":30");
        String cookie = login(idle, "fiona");
        clock.advance(30);
        assertEquals("fiona", header(proceed(engine.onRequest(idle, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"), "valid at exactly the idling timeout");
        clock.advance(31);
        assertEquals("<absent>", header(proceed(engine.onRequest(idle, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"));

        SessionRoute absolute = route("\"absolute_timeout\":100,\"idling_timeout\":0,\"rolling_timeout\":0");
        String c2 = login(absolute, "fiona");
        clock.advance(101);
        assertEquals("<absent>", header(proceed(engine.onRequest(absolute, TestRequest.get("/").cookie(c2)))
                .requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void logoutExpiresTheCookieAndRevokesIt() throws Exception {
        SessionRoute route = route("\"reject_status\":401");
        String cookie = login(route, "fiona");
        RequestDecision.Respond r = assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, new TestRequest("POST", "/x?session_logout").cookie(cookie)));
        assertEquals(200, r.status());
        assertEquals("session=; Path=/; SameSite=Strict; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0",
                setCookies(r.headers()).get(0));
        RequestDecision replay = engine.onRequest(route, TestRequest.get("/").cookie(cookie));
        assertEquals(401, assertInstanceOf(RequestDecision.Respond.class, replay).status(),
                "a logged-out cookie is rejected even in cookie storage");
    }

    @Test
    void logoutNeedsAConfiguredMethodAndReadsTheBodyOnlyWhenAllowed() throws Exception {
        SessionRoute route = route("");
        String cookie = login(route, "fiona");
        assertInstanceOf(RequestDecision.Proceed.class,
                engine.onRequest(route, new TestRequest("GET", "/?session_logout").cookie(cookie)));
        TestRequest bodyOnly = new TestRequest("POST", "/").cookie(cookie)
                .body("application/x-www-form-urlencoded", "session_logout=1");
        assertInstanceOf(RequestDecision.Proceed.class, engine.onRequest(route, bodyOnly));
        assertEquals(0, bodyOnly.bodyReads, "read_body_for_logout is off: the body is never fetched");

        SessionRoute readsBody = route("\"read_body_for_logout\":true");
        assertInstanceOf(RequestDecision.Respond.class, engine.onRequest(readsBody, new TestRequest("POST", "/")
                .cookie(cookie).body("application/x-www-form-urlencoded", "a=b&session_logout=1")));
        String c2 = login(readsBody, "fiona");
        assertInstanceOf(RequestDecision.Respond.class, engine.onRequest(readsBody, new TestRequest("DELETE", "/")
                .cookie(c2).body("application/json", "{\"session_logout\":true}")));
    }

    @Test
    void memoryStorageKeepsOnlyTheHeaderInTheCookieAndDeletesOnLogout() throws Exception {
        SessionRoute route = route("\"storage\":\"memory\",\"memory\":{\"max_entries\":100}");
        String cookie = login(route, "fiona");
        assertEquals("session=".length() + 110, cookie.length());
        assertEquals("fiona", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"));
        assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, new TestRequest("DELETE", "/?session_logout").cookie(cookie)));
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void storageRenewalKeepsTheOldEntryForStaleTtl() throws Exception {
        SessionRoute route = route("\"storage\":\"memory\",\"rolling_timeout\":100,\"idling_timeout\":0,\"stale_ttl\":10");
        String cookie = login(route, "fiona");
        clock.advance(80);
        String renewed = cookieOf(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie))).responseHeaders());
        assertNotEquals(cookie, renewed);
        clock.advance(5);
        assertEquals("fiona", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"), "old cookie readable within stale_ttl");
        clock.advance(6);
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"), "old entry gone after stale_ttl");
        assertEquals("fiona", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(renewed)))
                .requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void storageOutageGivesTheConfiguredStatus() throws Exception {
        SessionRoute route = route("\"storage\":\"outage\"");
        String cookie = login(route, "fiona");
        outage.down = true;
        RequestDecision.Respond r = assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, TestRequest.get("/").cookie(cookie)));
        assertEquals(503, r.status());
        assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("storage"));
        outage.down = false;
        assertEquals("fiona", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"), "recovers, nothing lost");
    }

    @Test
    void identityNoneCreatesAnAnonymousSessionOnce() throws Exception {
        SessionRoute route = route("\"identity\":\"none\"");
        TestRequest first = TestRequest.get("/cart");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, first));
        assertEquals(0, first.variableReads("consumer_name"), "no ExtraInfo round trip needed");
        String cookie = cookieOf(p.responseHeaders());
        RequestDecision.Proceed second = proceed(engine.onRequest(route, TestRequest.get("/cart").cookie(cookie)));
        assertTrue(setCookies(second.responseHeaders()).isEmpty());
        assertEquals("<absent>", header(second.requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void identityUpstreamCreatesTheSessionFromResponseHeaders() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\"");
        List<HttpHeader> upstream = List.of(new HttpHeader("Content-Type", "application/json"),
                new HttpHeader("Set-Cookie", "up1=u1; Path=/"), new HttpHeader("Set-Cookie", "up2=u2"),
                new HttpHeader("X-Session-Subject", "alice"), new HttpHeader("X-Session-Groups", "admin, dev"),
                new HttpHeader("X-Session-Data-Tenant", "acme"));
        ResponseDecision d = engine.onResponse(route, response(200, upstream));
        assertEquals(0, d.status());
        assertEquals("application/json", header(d.headers(), "Content-Type"));
        List<String> cookies = setCookies(d.headers());
        assertEquals(3, cookies.size());
        assertEquals("up1=u1; Path=/", cookies.get(0));
        assertEquals("<absent>", header(d.headers(), "X-Session-Subject"));
        String cookie = cookies.get(2).substring(0, cookies.get(2).indexOf(';'));

        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/api").cookie(cookie)
                .header("X-Consumer-Username", "mallory")));
        assertEquals("alice", header(p.requestHeaders(), "X-Consumer-Username"));
        assertEquals("admin,dev", header(p.requestHeaders(), "X-Consumer-Groups"));
    }

    @Test
    void upstreamModeCarriesRequestPhaseCookiesIntoPostResp() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\"");
        ResponseDecision login = engine.onResponse(route, response(200, List.of(new HttpHeader("X-Session-Subject", "alice"))));
        String cookie = cookieOf(login.headers());
        clock.advance(61);
        TestRequest request = TestRequest.get("/login").cookie(cookie).variable("request_id", "r-1");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, request));
        String touched = setCookies(p.responseHeaders()).get(0);
        ResponseView plain = new ResponseView() {
            public int status() {
                return 200;
            }

            public List<HttpHeader> headers() {
                return List.of(new HttpHeader("Content-Type", "text/html"));
            }

            public String variable(String name) {
                return "request_id".equals(name) ? "r-1" : "";
            }
        };
        ResponseDecision d = engine.onResponse(route, plain);
        assertEquals(List.of(touched), setCookies(d.headers()), "the touch survives post-resp");
        assertEquals("text/html", header(d.headers(), "Content-Type"));
    }

    @Test
    void secretRotationAcceptsOldCookiesAndIssuesNewOnes() throws Exception {
        SessionRoute old = route("\"rolling_timeout\":100");
        String cookie = login(old, "fiona");
        SessionConfigParser parser = new SessionConfigParser(k -> null, engine.storages().names(), "p");
        SessionRoute rotated = engine.prepare(parser.parse("{\"secret\":\"a-brand-new-secret-0123456789abcdef\","
                + "\"secret_fallbacks\":[\"" + SECRET + "\"],\"rolling_timeout\":100}"));
        SessionRoute forgotten = engine.prepare(parser.parse("{\"secret\":\"a-brand-new-secret-0123456789abcdef\"}"));
        assertEquals("fiona", header(proceed(engine.onRequest(rotated, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"));
        assertEquals("<absent>", header(proceed(engine.onRequest(forgotten, TestRequest.get("/").cookie(cookie)))
                .requestHeaders(), "X-Consumer-Username"));
        clock.advance(80);
        String renewed = cookieOf(proceed(engine.onRequest(rotated, TestRequest.get("/").cookie(cookie))).responseHeaders());
        assertEquals("fiona", header(proceed(engine.onRequest(forgotten, TestRequest.get("/").cookie(renewed)))
                .requestHeaders(), "X-Consumer-Username"), "renewal seals with the primary secret");
    }

    @Test
    void audiencesShareOneCookie() throws Exception {
        SessionRoute shop = route("\"audience\":\"shop\"");
        SessionRoute admin = route("\"audience\":\"admin\"");
        String shopCookie = login(shop, "fiona");
        assertEquals("<absent>", header(proceed(engine.onRequest(admin, TestRequest.get("/").cookie(shopCookie)))
                .requestHeaders(), "X-Consumer-Username"), "another audience is not accepted");
        RequestDecision.Proceed both = proceed(engine.onRequest(admin, TestRequest.get("/").cookie(shopCookie).consumer("root")));
        String bothCookie = cookieOf(both.responseHeaders());
        assertEquals("fiona", header(proceed(engine.onRequest(shop, TestRequest.get("/").cookie(bothCookie)))
                .requestHeaders(), "X-Consumer-Username"));
        assertEquals("root", header(proceed(engine.onRequest(admin, TestRequest.get("/").cookie(bothCookie)))
                .requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void damagedCookiesAreNoSession() throws Exception {
        SessionRoute route = route("");
        String cookie = login(route, "fiona");
        String value = cookie.substring("session=".length());
        List<String> bad = new ArrayList<>(List.of("", "%%%", "A".repeat(8192), value.substring(0, 100),
                value.substring(0, value.length() - 3), "\u00e9\u00e9\u00e9" + value));
        char[] flipped = value.toCharArray();
        flipped[60] = flipped[60] == 'A' ? 'B' : 'A';
        bad.add(new String(flipped));
        for (String b : bad) {
            RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").cookie("session=" + b)));
            assertEquals("<absent>", header(p.requestHeaders(), "X-Consumer-Username"));
            assertTrue(p.responseHeaders().isEmpty());
        }
    }

    @Test
    void sessionHeadersOnRequest() throws Exception {
        SessionRoute route = route("\"request_headers\":[\"id\",\"subject\",\"timeout\"],\"response_headers\":[\"audience\"]");
        String cookie = login(route, "fiona");
        clock.advance(10);
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)));
        assertEquals("fiona", header(p.requestHeaders(), "Session-Subject"));
        assertEquals(43, header(p.requestHeaders(), "Session-Id").length());
        assertEquals("890", header(p.requestHeaders(), "Session-Timeout"), "idling 900 - 10");
        assertEquals("default", header(p.responseHeaders(), "Session-Audience"));
    }

}
