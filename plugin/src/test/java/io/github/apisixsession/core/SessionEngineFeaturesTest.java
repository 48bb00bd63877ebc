package io.github.apisixsession.core;

import io.github.apisixsession.core.config.SessionConfigParser;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Kong's options beyond the basics, and what the other session managers add. */
class SessionEngineFeaturesTest extends EngineTestBase {

    private static String cookieNamed(List<HttpHeader> headers, String name) {
        for (String sc : setCookies(headers)) {
            if (sc.startsWith(name + "=")) {
                return sc.substring(0, sc.indexOf(';'));
            }
        }
        return null;
    }

    private static String setCookieNamed(List<HttpHeader> headers, String name) {
        for (String sc : setCookies(headers)) {
            if (sc.startsWith(name + "=")) {
                return sc;
            }
        }
        return null;
    }

    @Test
    void rememberCookieRestoresTheSessionAfterTheBrowserClosed() throws Exception {
        SessionRoute route = route("\"remember\":true,\"remember_safety\":\"Low\"");
        RequestDecision.Proceed login = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")));
        String remember = setCookieNamed(login.responseHeaders(), "remember");
        assertTrue(remember.contains("; Expires=") && remember.endsWith("; Max-Age=604800"), remember);
        assertNotNullCookie(cookieNamed(login.responseHeaders(), "session"));

        clock.advance(7200); // the session cookie is gone with the browser; its rolling timeout passed too
        String rememberCookie = cookieNamed(login.responseHeaders(), "remember");
        RequestDecision.Proceed back = proceed(engine.onRequest(route, TestRequest.get("/").cookie(rememberCookie)));
        assertEquals("fiona", header(back.requestHeaders(), "X-Consumer-Username"));
        String newSession = cookieNamed(back.responseHeaders(), "session");
        String renewedRemember = cookieNamed(back.responseHeaders(), "remember");
        assertNotNullCookie(newSession);
        assertNotEquals(rememberCookie, renewedRemember, "the remember cookie is renewed under a new id");

        clock.advance(30L * 24 * 3600); // past remember_absolute_timeout
        RequestDecision.Proceed late = proceed(engine.onRequest(route, TestRequest.get("/").cookie(renewedRemember)));
        assertEquals("<absent>", header(late.requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void logoutForgetsTheRememberCookieToo() throws Exception {
        SessionRoute route = route("\"remember\":true,\"remember_safety\":\"None\",\"reject_status\":401");
        RequestDecision.Proceed login = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")));
        String both = cookieNamed(login.responseHeaders(), "session") + "; " + cookieNamed(login.responseHeaders(), "remember");
        RequestDecision.Respond out = assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, new TestRequest("POST", "/?session_logout").cookie(both)));
        assertTrue(setCookieNamed(out.headers(), "remember").contains("Max-Age=0"));
        String rememberOnly = cookieNamed(login.responseHeaders(), "remember");
        assertInstanceOf(RequestDecision.Respond.class, engine.onRequest(route, TestRequest.get("/").cookie(rememberOnly)),
                "a logged-out remember cookie restores nothing");
    }

    @Test
    void boundSessionsFollowTheUserAgent() throws Exception {
        SessionRoute route = route("\"bind\":[\"user-agent\",\"ip\"]");
        RequestDecision.Proceed login = proceed(engine.onRequest(route,
                TestRequest.get("/").consumer("fiona").header("User-Agent", "Firefox/140")));
        String cookie = cookieOf(login.responseHeaders());
        assertEquals("fiona", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)
                .header("User-Agent", "Firefox/140"))).requestHeaders(), "X-Consumer-Username"));
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)
                .header("User-Agent", "curl/8"))).requestHeaders(), "X-Consumer-Username"), "stolen to another client");

        SessionRoute unbound = route("");
        String plain = login(unbound, "fiona");
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(plain)
                .header("User-Agent", "Firefox/140"))).requestHeaders(), "X-Consumer-Username"),
                "a binding route accepts no unbound cookie");
    }

    @Test
    void logoutEverywhereRevokesEverySessionOfTheSubject() throws Exception {
        SessionRoute route = route("\"storage\":\"memory\",\"store_metadata\":true,\"hash_subject\":true,"
                + "\"logout_all_query_arg\":\"session_logout_all\"");
        String laptop = login(route, "alice");
        String phone = login(route, "alice");
        String bob = login(route, "bob");
        assertEquals(2, engine.sessionsOf(route, "alice").size());
        assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, new TestRequest("POST", "/?session_logout_all").cookie(laptop)));
        assertEquals(0, engine.sessionsOf(route, "alice").size());
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(phone)))
                .requestHeaders(), "X-Consumer-Username"), "the other device is logged out too");
        assertEquals("bob", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(bob)))
                .requestHeaders(), "X-Consumer-Username"));
        assertEquals(1, engine.revokeSessionsOf(route, "bob"));
    }

    @Test
    void headerLookupCarriesTheTokenInHeadersAndNotToTheUpstream() throws Exception {
        SessionRoute route = route("\"key_lookup\":\"header:X-Session-Token\",\"forward_session\":false");
        RequestDecision.Proceed login = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")));
        assertTrue(setCookies(login.responseHeaders()).isEmpty(), "no cookie for API clients");
        String token = header(login.responseHeaders(), "X-Session-Token");
        assertTrue(token.length() > 110);
        RequestDecision.Proceed api = proceed(engine.onRequest(route, TestRequest.get("/")
                .header("X-Session-Token", token)));
        assertEquals("fiona", header(api.requestHeaders(), "X-Consumer-Username"));
        assertNull(header(api.requestHeaders(), "X-Session-Token"), "forward_session: false strips the token");
    }

    @Test
    void forwardSessionFalseStripsOnlyTheSessionCookies() throws Exception {
        SessionRoute route = route("\"forward_session\":false");
        String cookie = login(route, "fiona");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/")
                .cookie("theme=dark; " + cookie + "; lang=en")));
        assertEquals("theme=dark; lang=en", header(p.requestHeaders(), "Cookie"));
    }

    @Test
    void mapHeadersSendSessionDataAndNeverTheClientsValues() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\",\"map_headers\":{\"X-User-Id\":\"user_id\",\"X-Who\":\"subject\"}");
        ResponseDecision login = engine.onResponse(route, response(200, List.of(
                new HttpHeader("X-Session-Subject", "alice"), new HttpHeader("X-Session-Data-User-Id", "42"))));
        String cookie = cookieOf(login.headers());
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)
                .header("X-User-Id", "1")));
        assertEquals("42", header(p.requestHeaders(), "X-User-Id"));
        assertEquals("alice", header(p.requestHeaders(), "X-Who"));
        RequestDecision.Proceed anonymous = proceed(engine.onRequest(route, TestRequest.get("/").header("X-User-Id", "1")));
        assertNull(header(anonymous.requestHeaders(), "X-User-Id"));
    }

    @Test
    void hostPrefixForcesSecureRootPathAndNoDomain() throws Exception {
        SessionRoute route = route("\"cookie_name\":\"__Host-session\",\"cookie_path\":\"/app\","
                + "\"cookie_domain\":\"example.com\"");
        RequestDecision.Proceed login = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")));
        String sc = setCookies(login.responseHeaders()).get(0);
        assertTrue(sc.startsWith("__Host-session="), sc);
        assertTrue(sc.endsWith("; Path=/; SameSite=Strict; Secure; HttpOnly"), sc);
    }

    @Test
    void persistentCookiesWhenNotSessionOnly() throws Exception {
        SessionRoute route = route("\"cookie_session_only\":false,\"rolling_timeout\":3600,\"absolute_timeout\":600");
        RequestDecision.Proceed login = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")));
        assertTrue(setCookies(login.responseHeaders()).get(0).endsWith("; Max-Age=600"),
                "the earliest timeout bounds the cookie");
    }

    @Test
    void stickyCookieIsStableAcrossRenewalsAndSteersTheFirstRequest() throws Exception {
        SessionRoute route = route("\"identity\":\"none\",\"sticky_cookie_name\":\"route\",\"rolling_timeout\":100,"
                + "\"idling_timeout\":0");
        RequestDecision.Proceed first = proceed(engine.onRequest(route, TestRequest.get("/").cookie("a=1")));
        String sticky = cookieNamed(first.responseHeaders(), "route");
        assertTrue(header(first.requestHeaders(), "Cookie").endsWith("; " + sticky),
                "the upstream's chash already sees the sticky cookie");
        String both = cookieNamed(first.responseHeaders(), "session") + "; " + sticky;
        clock.advance(80);
        RequestDecision.Proceed renewed = proceed(engine.onRequest(route, TestRequest.get("/").cookie(both)));
        assertTrue(cookieNamed(renewed.responseHeaders(), "session") != null, "the session id changes");
        assertNull(cookieNamed(renewed.responseHeaders(), "route"), "the sticky cookie does not");
    }

    @Test
    void failureLimitEndsTheSessionAfterFailedResponses() throws Exception {
        SessionRoute route = route("\"identity\":\"none\",\"failure_limit\":2");
        RequestDecision.Proceed first = proceed(engine.onRequest(route, TestRequest.get("/")));
        String cookie = cookieOf(first.responseHeaders());
        String token = cookie.substring("session=".length());
        ResponseDecision ok = engine.onResponse(route, responseWithCookie(200, token));
        assertTrue(setCookies(ok.headers()).isEmpty());
        ResponseDecision fail1 = engine.onResponse(route, responseWithCookie(502, token));
        assertTrue(setCookies(fail1.headers()).isEmpty(), "one failure is under the limit");
        ResponseDecision fail2 = engine.onResponse(route, responseWithCookie(500, token));
        assertTrue(setCookies(fail2.headers()).get(0).contains("Max-Age=0"), "the limit destroys the session");
        RequestDecision.Proceed next = proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)));
        assertNotEquals(cookie, cookieOf(next.responseHeaders()), "the next request starts a new session");
    }

    @Test
    void logoutRevokesEarlierRenewedCopiesOfACookieStoredSession() throws Exception {
        SessionRoute route = route("\"rolling_timeout\":100,\"idling_timeout\":0,\"reject_status\":401");
        String original = login(route, "fiona");
        clock.advance(80);
        String renewed = cookieOf(proceed(engine.onRequest(route, TestRequest.get("/").cookie(original))).responseHeaders());
        assertInstanceOf(RequestDecision.Respond.class,
                engine.onRequest(route, new TestRequest("POST", "/?session_logout").cookie(renewed)));
        RequestDecision replay = engine.onRequest(route, TestRequest.get("/").cookie(original));
        assertEquals(401, assertInstanceOf(RequestDecision.Respond.class, replay).status(),
                "the copy from before the renewal is refused as well");
    }

    @Test
    void concurrentRequestsPastTheRenewalPointShareOneNewSessionId() throws Exception {
        for (String storage : List.of("\"storage\":\"memory\",", "")) {
            SessionRoute route = route(storage + "\"rolling_timeout\":100,\"idling_timeout\":0");
            String cookie = login(route, "fiona");
            clock.advance(80);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(32);
            try {
                List<java.util.concurrent.Future<RequestDecision>> results = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    results.add(pool.submit(() -> engine.onRequest(route, TestRequest.get("/").cookie(cookie))));
                }
                java.util.Set<String> issued = new java.util.HashSet<>();
                for (java.util.concurrent.Future<RequestDecision> f : results) {
                    RequestDecision.Proceed p = proceed(f.get());
                    assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"), "no request rejected");
                    issued.add(cookieOf(p.responseHeaders()));
                }
                assertEquals(1, issued.size(), storage + " exactly one new session id for the renewal");
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void metricsCountTheLifecycle() throws Exception {
        AtomicInteger created = new AtomicInteger();
        AtomicInteger refreshed = new AtomicInteger();
        AtomicInteger touched = new AtomicInteger();
        AtomicInteger loggedOut = new AtomicInteger();
        List<SessionMetrics.Rejection> refusals = new ArrayList<>();
        List<SessionMetrics.Rejection> rejections = new ArrayList<>();
        List<String> storageOps = new ArrayList<>();
        SessionMetrics metrics = new SessionMetrics() {
            public void created() { created.incrementAndGet(); }
            public void refreshed() { refreshed.incrementAndGet(); }
            public void touched() { touched.incrementAndGet(); }
            public void loggedOut() { loggedOut.incrementAndGet(); }
            public void rejected(Rejection r) { rejections.add(r); }
            public void refused(Rejection r) { refusals.add(r); }
            public void storageLatency(String op, long nanos, boolean failed) { storageOps.add(op); }
        };
        try (SessionEngine counting = new SessionEngine(clock, storages(), metrics)) {
            SessionConfigParser parser = new SessionConfigParser(k -> null, counting.storages().names(), "p");
            SessionRoute route = counting.prepare(parser.parse("{\"secret\":\"" + SECRET
                    + "\",\"storage\":\"memory\",\"rolling_timeout\":100,\"reject_status\":401}"));
            RequestDecision.Proceed login = proceed(counting.onRequest(route, TestRequest.get("/").consumer("fiona")));
            String cookie = cookieOf(login.responseHeaders());
            clock.advance(61);
            String touchedCookie = cookieOf(proceed(counting.onRequest(route, TestRequest.get("/").cookie(cookie)))
                    .responseHeaders());
            clock.advance(20);
            String renewed = cookieOf(proceed(counting.onRequest(route, TestRequest.get("/").cookie(touchedCookie)))
                    .responseHeaders());
            counting.onRequest(route, new TestRequest("POST", "/?session_logout").cookie(renewed));
            counting.onRequest(route, TestRequest.get("/").cookie("session=garbage"));
            counting.onRequest(route, TestRequest.get("/"));
            assertEquals(1, created.get());
            assertEquals(1, touched.get());
            assertEquals(1, refreshed.get());
            assertEquals(1, loggedOut.get());
            // one token rejected; two requests refused, each once, with its reason
            assertEquals(List.of(SessionMetrics.Rejection.INVALID), rejections);
            assertEquals(List.of(SessionMetrics.Rejection.INVALID, SessionMetrics.Rejection.NO_SESSION), refusals);
            assertTrue(storageOps.containsAll(List.of("get", "set", "delete")), storageOps.toString());
        }
    }

    @Test
    void anUpstreamLoginExpiresTheChunksOfALargerPreviousSession() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\",\"compression_threshold\":0");
        List<HttpHeader> first = engine.onResponse(route, response(200, largeUpstreamLogin())).headers();
        int chunks = setCookies(first).size();
        assertTrue(chunks >= 3, setCookies(first).toString());
        String firstChunk = cookieNamed(first, "session").substring("session=".length());

        ResponseView smallLogin = responseWithVariables(200, List.of(new HttpHeader("X-Session-Subject", "alice")),
                Map.of("cookie_session", firstChunk));
        List<HttpHeader> second = engine.onResponse(route, smallLogin).headers();
        assertNotNullCookie(cookieNamed(second, "session"));
        for (int i = 2; i <= chunks; i++) {
            assertTrue(setCookieNamed(second, "session" + i).contains("Max-Age=0"), setCookies(second).toString());
        }
        assertEquals(chunks, setCookies(second).size(), "the new cookie and the expired chunks only");

        // without a previous cookie (or an unreadable one) nothing is expired
        assertEquals(1, setCookies(engine.onResponse(route, response(200,
                List.of(new HttpHeader("X-Session-Subject", "bob")))).headers()).size());
    }

    @Test
    void aSmallerRememberCookieExpiresTheChunksOfTheLargerOneItReplaces() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\",\"compression_threshold\":0,\"remember\":true,"
                + "\"remember_safety\":\"None\"");
        List<HttpHeader> first = engine.onResponse(route, response(200, largeUpstreamLogin())).headers();
        int chunks = (int) setCookies(first).stream().filter(c -> c.startsWith("remember")).count();
        assertTrue(chunks >= 3, setCookies(first).toString());
        String firstRemember = cookieNamed(first, "remember").substring("remember=".length());

        // a small login over the large remember cookie: its chunks 2… are expired
        ResponseView smallLogin = responseWithVariables(200, List.of(new HttpHeader("X-Session-Subject", "alice")),
                Map.of("cookie_remember", firstRemember));
        List<HttpHeader> second = engine.onResponse(route, smallLogin).headers();
        assertFalse(setCookieNamed(second, "remember").contains("Max-Age=0"), setCookies(second).toString());
        for (int i = 2; i <= chunks; i++) {
            assertTrue(setCookieNamed(second, "remember" + i).contains("Max-Age=0"), setCookies(second).toString());
        }

        // a restore renews the remember cookie in the same size: nothing of it is expired
        StringBuilder all = new StringBuilder();
        for (String c : setCookies(first)) {
            if (c.startsWith("remember")) {
                all.append(all.length() == 0 ? "" : "; ").append(c, 0, c.indexOf(';'));
            }
        }
        List<HttpHeader> restored = proceed(engine.onRequest(route, TestRequest.get("/").cookie(all.toString())))
                .responseHeaders();
        for (int i = 1; i <= chunks; i++) {
            String name = i == 1 ? "remember" : "remember" + i;
            assertFalse(setCookieNamed(restored, name).contains("Max-Age=0"), setCookies(restored).toString());
        }
    }

    @Test
    void anUpstreamLoginBindsTheSessionToTheLoginRequest() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\",\"bind\":[\"user-agent\"]");
        ResponseDecision login = engine.onResponse(route, responseWithVariables(200,
                List.of(new HttpHeader("X-Session-Subject", "alice")), Map.of("http_user_agent", "Firefox/128.0")));
        String cookie = cookieOf(login.headers());
        assertEquals("alice", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)
                .header("User-Agent", "Firefox/128.0"))).requestHeaders(), "X-Consumer-Username"));
        assertEquals("<absent>", header(proceed(engine.onRequest(route, TestRequest.get("/").cookie(cookie)
                .header("User-Agent", "Chrome/126.0"))).requestHeaders(), "X-Consumer-Username"));
    }

    @Test
    void failureLimitCountsBoundSessions() throws Exception {
        SessionRoute route = route("\"identity\":\"none\",\"failure_limit\":1,\"bind\":[\"user-agent\"]");
        String cookie = cookieOf(proceed(engine.onRequest(route, TestRequest.get("/")
                .header("User-Agent", "Firefox/128.0"))).responseHeaders());
        ResponseDecision fail = engine.onResponse(route, responseWithVariables(502, List.of(), Map.of(
                "cookie_session", cookie.substring("session=".length()), "http_user_agent", "Firefox/128.0")));
        assertTrue(setCookieNamed(fail.headers(), "session").contains("Max-Age=0"), setCookies(fail.headers()).toString());
    }

    @Test
    void failureLimitAlsoForgetsTheRememberCookie() throws Exception {
        SessionRoute route = route("\"identity\":\"none\",\"failure_limit\":1,\"remember\":true,"
                + "\"storage\":\"memory\",\"sticky_cookie_name\":\"route\"");
        List<HttpHeader> first = proceed(engine.onRequest(route, TestRequest.get("/"))).responseHeaders();
        String session = cookieNamed(first, "session");
        String remember = cookieNamed(first, "remember");
        String sticky = cookieNamed(first, "route");
        ResponseDecision fail = engine.onResponse(route, responseWithVariables(502, List.of(), Map.of(
                "cookie_session", session.substring("session=".length()),
                "cookie_remember", remember.substring("remember=".length()))));
        assertTrue(setCookieNamed(fail.headers(), "remember").contains("Max-Age=0"), setCookies(fail.headers()).toString());
        List<HttpHeader> next = proceed(engine.onRequest(route, TestRequest.get("/").cookie(remember)))
                .responseHeaders();
        assertNotNullCookie(cookieNamed(next, "route"));
        assertNotEquals(sticky, cookieNamed(next, "route"), "a new session, not the destroyed one restored");
    }

    @Test
    void anUpstreamLoginKeepsOtherAudiencesAndRetiresThePreviousSession() throws Exception {
        for (String storage : new String[] {"cookie", "memory"}) {
            String store = ",\"storage\":\"" + storage + "\"";
            SessionRoute appA = route("\"audience\":\"a\"" + store);
            SessionRoute appB = route("\"identity\":\"upstream\",\"audience\":\"b\"" + store);
            String first = login(appA, "fiona");
            ResponseDecision up = engine.onResponse(appB, responseWithVariables(200,
                    List.of(new HttpHeader("X-Session-Subject", "alice")),
                    Map.of("cookie_session", first.substring("session=".length()))));
            String both = cookieOf(up.headers());
            assertEquals("fiona", header(proceed(engine.onRequest(appA, TestRequest.get("/").cookie(both)))
                    .requestHeaders(), "X-Consumer-Username"), storage);
            assertEquals("alice", header(proceed(engine.onRequest(appB, TestRequest.get("/").cookie(both)))
                    .requestHeaders(), "X-Consumer-Username"), storage);
            assertEquals("<absent>", header(proceed(engine.onRequest(appA, TestRequest.get("/").cookie(first)))
                    .requestHeaders(), "X-Consumer-Username"), "the replaced session is retired: " + storage);
        }
    }

    /** An upstream login of alice with 9 kB of session data: a cookie-stored session in several chunks. */
    private static List<HttpHeader> largeUpstreamLogin() {
        List<HttpHeader> big = new ArrayList<>(List.of(new HttpHeader("X-Session-Subject", "alice")));
        for (int i = 0; i < 10; i++) {
            big.add(new HttpHeader("X-Session-Data-Field-" + i, "x".repeat(900)));
        }
        return big;
    }

    private static ResponseView responseWithVariables(int status, List<HttpHeader> headers,
                                                      Map<String, String> variables) {
        return new ResponseView() {
            public int status() {
                return status;
            }

            public List<HttpHeader> headers() {
                return headers;
            }

            public String variable(String name) {
                return variables.getOrDefault(name, "");
            }
        };
    }

    private static ResponseView responseWithCookie(int status, String token) {
        return new ResponseView() {
            public int status() {
                return status;
            }

            public List<HttpHeader> headers() {
                return List.of(new HttpHeader("Content-Type", "text/plain"));
            }

            public String variable(String name) {
                return "cookie_session".equals(name) ? token : "";
            }
        };
    }

    private static void assertNotNullCookie(String cookie) {
        assertFalse(cookie == null || cookie.endsWith("="), "expected a cookie with a value");
    }
}
