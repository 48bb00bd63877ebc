package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
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
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamRequest;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code identity: "upstream"}: the login route has the plugin in pre-req and post-resp and takes
 * the identity from the upstream's {@code X-Session-*} response headers; the API route has it in
 * pre-req only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IdentityUpstreamIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    /** alice logs in with {@code user=alice&password=secret}; anything else is a 401 without identity. */
    private static UpstreamResponse loginService(UpstreamRequest req) {
        if (!"user=alice&password=secret".equals(req.bodyAsString())) {
            return UpstreamResponse.status(401).header("Content-Type", "application/json")
                    .body("{\"error\":\"bad credentials\"}");
        }
        return UpstreamResponse.json("{\"welcome\":\"alice\"}")
                .header("X-Session-Subject", "alice")
                .header("X-Session-Groups", "admin,dev")
                .header("Set-Cookie", "app_pref=dark; Path=/")
                .header("Set-Cookie", "app_lang=en; Path=/")
                .header("X-App", "login-service");
    }

    @BeforeAll
    void start() {
        runner = E2e.start();
        String conf = E2e.conf("identity", "upstream");
        String memConf = E2e.conf("identity", "upstream", "storage", "memory");
        apisix = E2e.gateway(runner)
                .route(Route.uri("/login").preReq(E2e.session(conf)).postResp(E2e.session(conf))
                        .upstream(IdentityUpstreamIT::loginService))
                .route(Route.uri("/api/*").preReq(E2e.session(conf)))
                .route(Route.uri("/mlogin").preReq(E2e.session(memConf)).postResp(E2e.session(memConf))
                        .upstream(IdentityUpstreamIT::loginService))
                .route(Route.uri("/mapi/*").preReq(E2e.session(memConf)));
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

    private Exchange login(String uri, String body) {
        return apisix.send(ClientRequest.post(uri).form(body));
    }

    @Test
    void loginKeepsTheUpstreamResponseAndAddsTheSessionCookie() {
        Exchange ex = login("/login", "user=alice&password=secret");
        assertEquals(200, ex.status(), why(ex, runner));
        assertTrue(ex.transcriptContains("[post-resp] HTTPRespCall"), ex.transcriptText());
        assertEquals("application/json", ex.header("Content-Type"), "the runner re-emits Content-Type\n" + why(ex, runner));
        assertEquals("login-service", ex.header("X-App"), why(ex, runner));
        List<String> cookies = ex.setCookies();
        assertTrue(cookies.contains("app_pref=dark; Path=/"), cookies.toString());
        assertTrue(cookies.contains("app_lang=en; Path=/"), cookies.toString());
        assertNotNull(E2e.sessionSetCookie(ex), "session cookie\n" + why(ex, runner));
        assertNull(ex.header("X-Session-Subject"), "identity headers are not shown to the client");
        assertNull(ex.header("X-Session-Groups"));
        assertEquals("{\"welcome\":\"alice\"}", ex.body());
    }

    @Test
    void theSessionCookieCarriesTheIdentityToTheApi() {
        for (String[] r : new String[][] {{"/login", "/api"}, {"/mlogin", "/mapi"}}) {
            Exchange ex = login(r[0], "user=alice&password=secret");
            assertNotNull(E2e.sessionSetCookie(ex), why(ex, runner));
            CookieJar jar = new CookieJar().update(ex.response());
            Exchange api = apisix.send(E2e.withCookies(r[1] + "/orders", jar));
            assertEquals(200, api.status(), why(api, runner));
            assertEquals("alice", api.upstreamHeader("X-Consumer-Username"), why(api, runner));
            assertEquals("admin,dev", api.upstreamHeader("X-Consumer-Groups"), why(api, runner));
        }
    }

    @Test
    void forgedIdentityHeadersAreNotTrusted() {
        Exchange ex = login("/login", "user=alice&password=secret");
        CookieJar jar = new CookieJar().update(ex.response());
        Exchange api = apisix.send(E2e.withCookies("/api/orders", jar)
                .header("X-Consumer-Username", "mallory")
                .header("X-Consumer-Groups", "root")
                .header("X-Session-Subject", "mallory"));
        assertEquals("alice", api.upstreamHeader("X-Consumer-Username"), why(api, runner));
        assertEquals("admin,dev", api.upstreamHeader("X-Consumer-Groups"), why(api, runner));

        Exchange noSession = apisix.send(ClientRequest.get("/api/orders")
                .header("X-Consumer-Username", "mallory")
                .header("X-Consumer-Groups", "root")
                .header("X-Session-Subject", "mallory"));
        assertNotEquals("mallory", noSession.upstreamHeader("X-Consumer-Username"), why(noSession, runner));
        assertNotEquals("root", noSession.upstreamHeader("X-Consumer-Groups"), why(noSession, runner));
    }

    @Test
    void aForgedSubjectOnAFailedLoginGivesNoIdentity() {
        Exchange ex = apisix.send(ClientRequest.post("/login").form("user=alice&password=wrong")
                .header("X-Session-Subject", "mallory"));
        assertEquals(401, ex.status(), why(ex, runner));
        CookieJar jar = new CookieJar().update(ex.response());
        Exchange api = apisix.send(E2e.withCookies("/api/orders", jar));
        assertNotEquals("mallory", api.upstreamHeader("X-Consumer-Username"), why(api, runner));
    }
}
