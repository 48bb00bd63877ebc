package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Large cookie-stored sessions: compression ({@code compression_threshold}) and chunking over
 * {@code session}, {@code session2}, … when the sealed session exceeds 4 KB. The identity and its
 * data come from an {@code identity: "upstream"} login whose {@code X-Session-Data-*} headers make
 * the plaintext as big as needed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ParityLargeSessionIT {
    private static final int FIELDS = 10;
    /** 10 × 900 random base64 characters: about 9 KB of incompressible session data. */
    private static final String[] RANDOM_VALUES = new String[FIELDS];
    /** 10 × 900 characters of one repeated word: compresses to almost nothing. */
    private static final String REPEATED = "session-".repeat(113).substring(0, 900);

    private RunnerProcess runner;
    private SimulatedApisix apisix;

    static {
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < FIELDS; i++) {
            byte[] b = new byte[675];
            random.nextBytes(b);
            RANDOM_VALUES[i] = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        }
    }

    /** Body {@code big}: random data; {@code repeated}: compressible data; else one small field. */
    private static UpstreamResponse loginService(UpstreamRequest req) {
        String body = req.bodyAsString();
        UpstreamResponse r = UpstreamResponse.json("{}").header("X-Session-Subject", "alice-" + body);
        if ("big".equals(body) || "repeated".equals(body)) {
            for (int i = 0; i < FIELDS; i++) {
                r.header("X-Session-Data-Field-" + i, "big".equals(body) ? RANDOM_VALUES[i] : REPEATED);
            }
        } else {
            r.header("X-Session-Data-Field-0", "small");
        }
        return r;
    }

    @BeforeAll
    void start() {
        runner = E2e.start();
        Map<String, String> map = Map.of("X-Field-0", "field_0", "X-Field-9", "field_9");
        String raw = E2e.conf("identity", "upstream", "compression_threshold", 0, "map_headers", map);
        String zipped = E2e.conf("identity", "upstream", "map_headers", map);
        String memory = E2e.conf("identity", "upstream", "storage", "memory");
        String memoryApi = E2e.conf("identity", "upstream", "storage", "memory", "reject_status", 401);
        apisix = E2e.gateway(runner)
                .route(Route.uri("/raw/login").preReq(E2e.session(raw)).postResp(E2e.session(raw))
                        .upstream(ParityLargeSessionIT::loginService))
                .route(Route.uri("/raw/*").preReq(E2e.session(raw)))
                .route(Route.uri("/zip/login").preReq(E2e.session(zipped)).postResp(E2e.session(zipped))
                        .upstream(ParityLargeSessionIT::loginService))
                .route(Route.uri("/zip/*").preReq(E2e.session(zipped)))
                .route(Route.uri("/mem/login").preReq(E2e.session(memory)).postResp(E2e.session(memory))
                        .upstream(ParityLargeSessionIT::loginService))
                .route(Route.uri("/mem/*").preReq(E2e.session(memoryApi)));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    private Exchange login(String base, CookieJar jar, String what) {
        Exchange ex = apisix.send(ClientRequest.post(base + "/login").cookies(jar).body(what));
        assertEquals(200, ex.status(), why(ex, runner));
        jar.update(ex.response());
        return ex;
    }

    @Test
    void aSessionOver8KbIsChunkedAndJoinedBack() {
        CookieJar jar = new CookieJar();
        Exchange ex = login("/raw", jar, "big");
        for (String name : new String[] {"session", "session2", "session3"}) {
            SetCookie sc = E2e.setCookie(ex, name);
            assertNotNull(sc, "chunk " + name + "\n" + why(ex, runner));
            assertTrue((name + "=" + sc.value()).length() <= 4096, name + " fits in 4096 characters");
            assertEquals("/", sc.attribute("Path"));
            assertTrue(sc.httpOnly() && sc.secure(), sc.toString());
        }
        int total = 0;
        for (Map.Entry<String, String> c : jar.asMap().entrySet()) {
            total += c.getValue().length();
        }
        assertTrue(total > 8192, "more than 8 KB of cookies: " + total);
        assertTrue(jar.asMap().size() >= 3, jar.asMap().keySet().toString());

        // the jar sends every chunk back; the runner joins and decrypts them
        Exchange api = apisix.send(E2e.withCookies("/raw/orders", jar));
        E2e.assertOk(api, runner, "alice-big");
        assertEquals(RANDOM_VALUES[0], api.upstreamHeader("X-Field-0"), why(api, runner));
        assertEquals(RANDOM_VALUES[9], api.upstreamHeader("X-Field-9"), "the last chunk's data too");

        // a missing chunk breaks the session
        CookieJar broken = new CookieJar();
        jar.asMap().forEach(broken::put);
        broken.remove("session2");
        Exchange partial = apisix.send(E2e.withCookies("/raw/orders", broken));
        assertEquals(200, partial.status(), why(partial, runner));
        assertNull(partial.upstreamHeader("X-Consumer-Username"), "no identity without chunk 2\n" + why(partial, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void aSmallerSessionExpiresTheUnusedChunks() {
        CookieJar jar = new CookieJar();
        login("/raw", jar, "big");
        int chunks = jar.asMap().size();
        assertTrue(chunks >= 3, jar.asMap().keySet().toString());

        Exchange small = login("/raw", jar, "small");
        assertNotNull(E2e.sessionSetCookie(small), why(small, runner));
        for (int i = 2; i <= chunks; i++) {
            SetCookie sc = E2e.setCookie(small, "session" + i);
            assertNotNull(sc, "chunk session" + i + " of the previous session is expired\n" + why(small, runner));
            assertTrue(sc.deletes(), sc.toString());
        }
        assertEquals(1, jar.asMap().size(), "only the session cookie is left: " + jar.asMap().keySet());
        Exchange api = apisix.send(E2e.withCookies("/raw/orders", jar));
        E2e.assertOk(api, runner, "alice-small");
        assertEquals("small", api.upstreamHeader("X-Field-0"));
        assertNull(api.upstreamHeader("X-Field-9"));
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void compressionKeepsALargeRepetitiveSessionInOneCookie() {
        CookieJar zipped = new CookieJar();
        Exchange ex = login("/zip", zipped, "repeated");
        assertNotNull(E2e.sessionSetCookie(ex), why(ex, runner));
        assertNull(E2e.setCookie(ex, "session2"), "deflated: one cookie\n" + why(ex, runner));
        assertTrue(zipped.get("session").length() < 1500, "deflated to " + zipped.get("session").length());

        CookieJar raw = new CookieJar();
        login("/raw", raw, "repeated");
        assertTrue(raw.asMap().size() >= 3, "compression_threshold 0 does not deflate: " + raw.asMap().keySet());

        Exchange api = apisix.send(E2e.withCookies("/zip/orders", zipped));
        E2e.assertOk(api, runner, "alice-repeated");
        assertEquals(REPEATED, api.upstreamHeader("X-Field-9"), why(api, runner));
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void logoutExpiresEveryChunk() {
        CookieJar jar = new CookieJar();
        login("/raw", jar, "big");
        int chunks = jar.asMap().size();
        assertTrue(chunks >= 3, jar.asMap().keySet().toString());
        Exchange logout = apisix.send(ClientRequest.post("/raw/orders?session_logout").cookies(jar));
        assertEquals(200, logout.status(), why(logout, runner));
        for (int i = 1; i <= chunks; i++) {
            String name = i == 1 ? "session" : "session" + i;
            SetCookie sc = E2e.setCookie(logout, name);
            assertNotNull(sc, name + " is expired\n" + why(logout, runner));
            assertTrue(sc.deletes(), sc.toString());
        }
        jar.update(logout.response());
        assertTrue(jar.isEmpty(), jar.toString());
    }

    @Test
    void aNewUpstreamLoginRetiresThePreviousSession() {
        for (String base : new String[] {"/raw", "/mem"}) {
            CookieJar jar = new CookieJar();
            login(base, jar, "small");
            String previous = jar.cookieHeader();
            E2e.assertOk(apisix.send(E2e.withCookies(base + "/orders", jar)), runner, "alice-small");
            login(base, jar, "other");
            E2e.assertOk(apisix.send(E2e.withCookies(base + "/orders", jar)), runner, "alice-other");
            Exchange replay = apisix.send(ClientRequest.get(base + "/orders").cookie(previous));
            assertNull(replay.upstreamHeader("X-Consumer-Username"),
                    "the replaced session (maybe someone else's) is no longer usable\n" + why(replay, runner));
        }
    }
}
