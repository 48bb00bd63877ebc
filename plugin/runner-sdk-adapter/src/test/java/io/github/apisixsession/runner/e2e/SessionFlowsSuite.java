package io.github.apisixsession.runner.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamRequest;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The session flows, run by a subclass per {@link Host} against a simulated APISIX. The assertions
 * are what a client and the upstream see, the same for both hosts; where the official runner
 * cannot do what our host does, the test says so and asserts the documented behaviour instead.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SessionFlowsSuite {
    static final String FIONA_KEY = "open_sesame";
    static final ObjectMapper JSON = new ObjectMapper();

    private final Host host;
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    SessionFlowsSuite(Host host) {
        this.host = host;
    }

    static String conf(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("secret", Host.SECRET);
        m.put("cookie_secure", false);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Upstream with a JSON body, a custom header and two cookies of its own. */
    static UpstreamResponse app(UpstreamRequest req) {
        return UpstreamResponse.json("{\"ok\":true}")
                .header("X-Up", "upstream-value")
                .header("Set-Cookie", "up1=u1; Path=/")
                .header("Set-Cookie", "up2=u2");
    }

    /** Logs in whoever posts {@code user=<name>}; {@code blob=<n>} adds n random hex chars of data. */
    static UpstreamResponse loginService(UpstreamRequest req) {
        Map<String, String> form = new LinkedHashMap<>();
        for (String pair : req.bodyAsString().split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                form.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        if (!form.containsKey("user")) {
            return UpstreamResponse.status(401).header("Content-Type", "application/json").body("{}");
        }
        UpstreamResponse r = UpstreamResponse.json("{\"welcome\":true}")
                .header("X-Session-Subject", form.get("user"))
                .header("X-Session-Groups", "admin,dev")
                .header("Set-Cookie", "app_pref=dark; Path=/")
                .header("Set-Cookie", "app_lang=en; Path=/")
                .header("X-App", "login-service");
        if (form.containsKey("blob")) {
            byte[] random = new byte[Integer.parseInt(form.get("blob")) / 2];
            new SecureRandom().nextBytes(random);
            r.header("X-Session-Data-Blob", HexFormat.of().formatHex(random));
        }
        return r;
    }

    @BeforeAll
    void start() {
        runner = host.start();
        String apisixConf = conf("identity", "apisix", "anonymous_consumer", "anon", "reject_status", 401);
        String upstreamConf = conf("identity", "upstream", "compression_threshold", 0);
        apisix = SimulatedApisix.in(runner)
                .consumer(Consumer.of("fiona", FIONA_KEY).withCredentialId("cred-fiona"))
                .consumer("anon", "anon-key-never-sent")
                .consumer(Consumer.of("jörg", "key-of-jorg"));
        for (String storage : new String[] {"cookie", "memory"}) {
            apisix.route(host.session(Route.uri("/" + storage + "/*").keyAuth(KeyAuth.withAnonymous("anon"))
                    .upstream(SessionFlowsSuite::app), false,
                    conf("identity", "apisix", "anonymous_consumer", "anon", "reject_status", 401,
                            "storage", storage, "response_headers", List.of("id")), false));
        }
        apisix.route(host.session(Route.uri("/open/*").keyAuth(KeyAuth.withAnonymous("anon"))
                .upstream(SessionFlowsSuite::app), false,
                conf("identity", "apisix", "anonymous_consumer", "anon"), false));
        apisix.route(host.session(Route.uri("/anonymous/*").upstream(SessionFlowsSuite::app), true,
                conf("identity", "none", "request_headers", List.of("id")), false));
        apisix.route(host.session(Route.uri("/login").upstream(SessionFlowsSuite::loginService), true,
                upstreamConf, true));
        apisix.route(host.session(Route.uri("/api/*").upstream(SessionFlowsSuite::app), true,
                upstreamConf, false));
        String bound = conf("identity", "upstream", "bind", List.of("ip"));
        apisix.route(host.session(Route.uri("/bound-login").upstream(SessionFlowsSuite::loginService), true,
                bound, true));
        apisix.route(host.session(Route.uri("/bound-api/*").upstream(SessionFlowsSuite::app), true,
                conf("identity", "upstream", "bind", List.of("ip"), "reject_status", 401), false));
        apisix.route(host.session(Route.uri("/body/*").keyAuth(KeyAuth.withAnonymous("anon"))
                .upstream(SessionFlowsSuite::app), false,
                conf("identity", "apisix", "anonymous_consumer", "anon", "read_body_for_logout", true), false));
        apisix.route(host.session(Route.uri("/touch/*").keyAuth(KeyAuth.withAnonymous("anon"))
                .upstream(SessionFlowsSuite::app), false,
                conf("identity", "apisix", "anonymous_consumer", "anon", "touch_threshold", 1), false));
        apisix.route(host.session(Route.uri("/flaky/*").keyAuth(KeyAuth.withAnonymous("anon"))
                .upstream(req -> req.path().contains("/fail") ? UpstreamResponse.status(500)
                        .header("Content-Type", "text/html").body("oops") : app(req)), false,
                conf("identity", "apisix", "anonymous_consumer", "anon", "reject_status", 401, "failure_limit", 2),
                true));
        apisix.route(host.session(Route.uri("/broken/*").upstream(SessionFlowsSuite::app), true,
                "{\"secret\": 42}", false));
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

    String why(Exchange ex) {
        String logs = runner.logs();
        if (logs.length() > 6000) {
            logs = "…" + logs.substring(logs.length() - 6000);
        }
        return "[" + host + "]\n--- transcript\n" + (ex == null ? "" : ex.transcriptText()) + "\n--- runner output\n"
                + logs;
    }

    static SetCookie sessionCookie(Exchange ex) {
        String sc = ex.response().setCookie("session");
        return sc == null ? null : SetCookie.parse(sc);
    }

    CookieJar login(String uri) {
        Exchange ex = apisix.send(ClientRequest.get(uri).apikey(FIONA_KEY));
        assertEquals(200, ex.status(), why(ex));
        assertNotNull(sessionCookie(ex), "a session cookie\n" + why(ex));
        return new CookieJar().update(ex.response());
    }

    /** Every upstream header reaches the client next to the cookies, Content-Type included. */
    void assertUpstreamHeadersKept(Exchange ex) {
        assertEquals("upstream-value", ex.header("X-Up"), why(ex));
        assertEquals("application/json", ex.header("Content-Type"), why(ex));
        assertEquals("u1; Path=/", valueOf(ex.response().setCookie("up1")), why(ex));
        assertEquals("u2", valueOf(ex.response().setCookie("up2")), "the upstream's second Set-Cookie\n" + why(ex));
    }

    private static String valueOf(String setCookie) {
        return setCookie == null ? null : setCookie.substring(setCookie.indexOf('=') + 1);
    }

    // ---------------------------------------------------------------- identity "apisix"

    @Test
    void loginWithAKeyIssuesACookieAndKeepsTheUpstreamHeaders() {
        Exchange ex = apisix.send(ClientRequest.get("/cookie/login").apikey(FIONA_KEY));
        assertEquals(200, ex.status(), why(ex));
        assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), why(ex));
        SetCookie sc = sessionCookie(ex);
        assertNotNull(sc, why(ex));
        assertTrue(sc.value().length() > 110, sc.value());
        assertEquals("/", sc.attribute("Path"));
        assertEquals("Strict", sc.attribute("SameSite"));
        assertTrue(sc.httpOnly());
        assertNotNull(ex.header("Session-Id"), "response_headers: [id]\n" + why(ex));
        assertUpstreamHeadersKept(ex);
        assertEquals(host.callsPerProxiedRequest(),
                ex.transcriptCount("] HTTPReqCall id=") + ex.transcriptCount("] HTTPRespCall id="), why(ex));
    }

    @Test
    void theCookieAloneRestoresTheIdentity() {
        for (String storage : new String[] {"cookie", "memory"}) {
            CookieJar jar = login("/" + storage + "/login");
            for (int i = 0; i < 3; i++) {
                Exchange ex = apisix.send(ClientRequest.get("/" + storage + "/data").cookies(jar));
                assertEquals(200, ex.status(), why(ex));
                assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), why(ex));
                assertNull(sessionCookie(ex), "nothing to renew\n" + why(ex));
                assertNotNull(ex.header("Session-Id"), why(ex));
                assertUpstreamHeadersKept(ex);
            }
        }
    }

    @Test
    void aClientCannotForgeTheIdentityHeaders() {
        Exchange anon = apisix.send(ClientRequest.get("/open/x").header("X-Consumer-Username", "mallory")
                .header("X-Consumer-Groups", "admin"));
        assertEquals(200, anon.status(), why(anon));
        assertNull(anon.upstreamHeader("X-Consumer-Username"), why(anon));
        assertNull(anon.upstreamHeader("X-Consumer-Groups"), why(anon));

        CookieJar jar = login("/open/login");
        Exchange forged = apisix.send(ClientRequest.get("/open/x").cookies(jar).header("X-Consumer-Username",
                "mallory"));
        assertEquals("fiona", forged.upstreamHeader("X-Consumer-Username"), why(forged));
        assertEquals(1, forged.upstreamRequest().headerValues("X-Consumer-Username").size(), why(forged));
    }

    @Test
    void noSessionAndNoIdentityIsRejected() throws IOException {
        Exchange ex = apisix.send(ClientRequest.get("/cookie/data"));
        assertEquals(401, ex.status(), why(ex));
        assertFalse(ex.upstreamCalled());
        assertEquals("no valid session", JSON.readTree(ex.response().bodyAsString()).path("message").asText(), why(ex));
    }

    @Test
    void logoutExpiresTheCookieAndTheOldCookieIsDead() {
        for (String storage : new String[] {"cookie", "memory"}) {
            CookieJar jar = login("/" + storage + "/login");
            String old = jar.cookieHeader();
            Exchange logout = apisix.send(ClientRequest.post("/" + storage + "/x?session_logout").cookies(jar));
            assertEquals(200, logout.status(), why(logout));
            assertFalse(logout.upstreamCalled(), why(logout));
            SetCookie sc = sessionCookie(logout);
            assertNotNull(sc, why(logout));
            assertTrue(sc.deletes(), why(logout));
            Exchange replay = apisix.send(ClientRequest.get("/" + storage + "/data").cookie(old));
            assertEquals(401, replay.status(), why(replay));
        }
    }

    @Test
    void anIdleSessionIsTouchedWithANewCookie() throws InterruptedException {
        CookieJar jar = login("/touch/login");
        String before = jar.get("session");
        Thread.sleep(2200);
        Exchange ex = apisix.send(ClientRequest.get("/touch/data").cookies(jar));
        assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), why(ex));
        SetCookie sc = sessionCookie(ex);
        assertNotNull(sc, "touch_threshold 1 s: re-signed after 2 s idle\n" + why(ex));
        assertNotEquals(before, sc.value());
        assertUpstreamHeadersKept(ex);
        jar.update(ex.response());
        assertEquals("fiona", apisix.send(ClientRequest.get("/touch/data").cookies(jar))
                .upstreamHeader("X-Consumer-Username"));
    }

    /**
     * A variable with non-ASCII bytes (here {@code consumer_name}; APISIX itself allows only ASCII
     * consumer names, but request bodies and other variables take the same path). Runner 0.4.0
     * turns each byte into a char; the adapter recovers the UTF-8 text.
     */
    @Test
    void nonAsciiVariablesArriveIntact() {
        Exchange ex = apisix.send(ClientRequest.get("/open/login").apikey("key-of-jorg"));
        assertEquals(200, ex.status(), why(ex));
        assertEquals("jörg", ex.upstreamHeader("X-Consumer-Username"), why(ex));
        CookieJar jar = new CookieJar().update(ex.response());
        assertEquals("jörg", apisix.send(ClientRequest.get("/open/x").cookies(jar)).upstreamHeader("X-Consumer-Username"));
    }

    /** failure_limit 2: the second 5xx of a session destroys it (the response half's decision). */
    @Test
    void failureLimitDestroysTheSession() {
        CookieJar jar = login("/flaky/login");
        Exchange first = apisix.send(ClientRequest.get("/flaky/fail").cookies(jar));
        assertEquals(500, first.status(), why(first));
        assertEquals("text/html", first.header("Content-Type"), why(first));
        Exchange second = apisix.send(ClientRequest.get("/flaky/fail").cookies(jar));
        assertEquals(500, second.status(), why(second));
        SetCookie expired = sessionCookie(second);
        assertNotNull(expired, "the session's cookie expires\n" + why(second));
        assertTrue(expired.deletes(), why(second));
        Exchange after = apisix.send(ClientRequest.get("/flaky/data").cookies(jar));
        assertEquals(401, after.status(), "the old cookie is dead\n" + why(after));
    }

    // ---------------------------------------------------------------- identity "none"

    @Test
    void anAnonymousSessionStartsOnTheFirstRequest() {
        Exchange first = apisix.send(ClientRequest.get("/anonymous/a"));
        assertEquals(200, first.status(), why(first));
        assertNotNull(sessionCookie(first), why(first));
        String id = first.upstreamHeader("Session-Id");
        assertNotNull(id, why(first));
        assertUpstreamHeadersKept(first);
        CookieJar jar = new CookieJar().update(first.response());
        Exchange second = apisix.send(ClientRequest.get("/anonymous/b").cookies(jar));
        assertEquals(id, second.upstreamHeader("Session-Id"), why(second));
        assertNull(sessionCookie(second), why(second));
    }

    // ---------------------------------------------------------------- identity "upstream"

    @Test
    void theUpstreamLogsTheUserIn() {
        Exchange ex = apisix.send(ClientRequest.post("/login").form("user=alice"));
        assertEquals(200, ex.status(), why(ex));
        assertNotNull(sessionCookie(ex), why(ex));
        assertEquals("login-service", ex.header("X-App"), why(ex));
        assertEquals("application/json", ex.header("Content-Type"), why(ex));
        assertNotNull(ex.response().setCookie("app_pref"), why(ex));
        assertNotNull(ex.response().setCookie("app_lang"), "the upstream's second cookie\n" + why(ex));
        assertNull(ex.header("X-Session-Subject"), why(ex));
        assertNull(ex.header("X-Session-Groups"), why(ex));

        CookieJar jar = new CookieJar().update(ex.response());
        Exchange api = apisix.send(ClientRequest.get("/api/me").cookies(jar));
        assertEquals("alice", api.upstreamHeader("X-Consumer-Username"), why(api));
        assertEquals("admin,dev", api.upstreamHeader("X-Consumer-Groups"), why(api));
        assertUpstreamHeadersKept(api);
    }

    /** The login's response phase binds remote_addr, the next request's phase src_ip: one text for both. */
    @Test
    void anUpstreamLoginBoundToTheClientOpensFromThatClientOnly() {
        for (String client : List.of("10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3")) {
            Exchange ex = apisix.send(ClientRequest.post("/bound-login").form("user=alice").remoteAddr(client));
            assertEquals(200, ex.status(), why(ex));
            CookieJar jar = new CookieJar().update(ex.response());
            Exchange api = apisix.send(ClientRequest.get("/bound-api/me").cookies(jar).remoteAddr(client));
            assertEquals("alice", api.upstreamHeader("X-Consumer-Username"), client + "\n" + why(api));
            assertEquals(401, apisix.send(ClientRequest.get("/bound-api/me").cookies(jar).remoteAddr("2001:db8::2"))
                    .status(), client);
        }
    }

    @Test
    void aLargeSessionTravelsInSeveralCookies() {
        Exchange ex = apisix.send(ClientRequest.post("/login").form("user=bob&blob=6000"));
        assertEquals(200, ex.status(), why(ex));
        List<String> names = new ArrayList<>();
        for (String sc : ex.setCookies()) {
            names.add(sc.substring(0, sc.indexOf('=')));
        }
        assertTrue(names.contains("session") && names.contains("session2"), names + "\n" + why(ex));
        assertTrue(names.contains("app_pref") && names.contains("app_lang"), names.toString());
        CookieJar jar = new CookieJar().update(ex.response());
        Exchange api = apisix.send(ClientRequest.get("/api/me").cookies(jar));
        assertEquals("bob", api.upstreamHeader("X-Consumer-Username"), why(api));

        Exchange logout = apisix.send(ClientRequest.post("/api/x?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout));
        long expired = logout.setCookies().stream().filter(s -> SetCookie.parse(s).deletes()).count();
        assertTrue(expired >= 2, "every chunk expires: " + logout.setCookies() + "\n" + why(logout));
        jar.update(logout.response());
        assertNull(jar.get("session"));
        assertNull(jar.get("session2"));
    }

    @Test
    void concurrentRequestsGetTheirOwnCookies() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String user = "user" + i;
                results.add(pool.submit(() -> {
                    Exchange login = apisix.send(ClientRequest.post("/login").form("user=" + user));
                    if (login.status() != 200) {
                        return user + ": login " + login.status();
                    }
                    CookieJar jar = new CookieJar().update(login.response());
                    Exchange api = apisix.send(ClientRequest.get("/api/me").cookies(jar));
                    return user.equals(api.upstreamHeader("X-Consumer-Username")) ? null
                            : user + " became " + api.upstreamHeader("X-Consumer-Username");
                }));
            }
            for (Future<String> f : results) {
                assertNull(f.get(), why(null));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- configs and the process

    @Test
    void anInvalidConfigAnswers503() {
        Exchange ex = apisix.send(ClientRequest.get("/broken/x"));
        assertEquals(503, ex.status(), why(ex));
        assertFalse(ex.upstreamCalled());
        assertTrue(runner.logs().contains("secret"), "the field is named in the log\n" + runner.logs());
    }

    /**
     * {@code read_body_for_logout}: our host reads the body of a logout candidate on demand. The
     * official runner fetches a body only for every call of every route (the chain-wide
     * {@code requiredBody()}), so the adapter refuses the option: 503 and a log line naming it.
     */
    @Test
    void readBodyForLogout() {
        CookieJar jar;
        if (host != Host.OURS) {
            Exchange ex = apisix.send(ClientRequest.get("/body/login").apikey(FIONA_KEY));
            assertEquals(503, ex.status(), "unsupported on the official runner: config refused\n" + why(ex));
            assertTrue(runner.logs().contains("read_body_for_logout"), runner.logs());
            return;
        }
        jar = login("/body/login");
        Exchange logout = apisix.send(ClientRequest.post("/body/x").cookies(jar).form("session_logout=1"));
        assertEquals(200, logout.status(), why(logout));
        assertTrue(sessionCookie(logout).deletes(), why(logout));
    }

    @Test
    void cookieSessionsSurviveARunnerRestart() throws IOException {
        CookieJar jar = login("/cookie/login");
        runner.kill();
        Exchange down = apisix.send(ClientRequest.get("/cookie/data").cookies(jar));
        assertEquals(503, down.status(), why(down));
        runner.start();
        Exchange after = apisix.send(ClientRequest.get("/cookie/data").cookies(jar));
        assertEquals(200, after.status(), why(after));
        assertEquals("fiona", after.upstreamHeader("X-Consumer-Username"), why(after));
    }
}
