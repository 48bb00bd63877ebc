package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Through the runner and the simulated gateway: a client without a session cannot put
 * {@code Session-*} headers on the upstream request of a route with {@code request_headers}; with a
 * session the upstream gets the session's own values (issue: a forged {@code Session-Subject: admin}
 * reached the upstream).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionRequestHeadersIT {

    private static final List<String> ALL = List.of("id", "audience", "subject", "timeout", "idling-timeout",
            "rolling-timeout", "absolute-timeout");
    private static final Map<String, String> HEADERS = Map.of("id", "Session-Id", "audience", "Session-Audience",
            "subject", "Session-Subject", "timeout", "Session-Timeout", "idling-timeout", "Session-Idling-Timeout",
            "rolling-timeout", "Session-Rolling-Timeout", "absolute-timeout", "Session-Absolute-Timeout");

    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner)
                .route(E2e.apisixRoute("/open/*", "request_headers", ALL))
                .route(E2e.apisixRoute("/strict/*", "request_headers", ALL, "reject_status", 401));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    private static ClientRequest forged(ClientRequest request) {
        for (String name : HEADERS.values()) {
            request.header(name, "admin");
        }
        return request;
    }

    @Test
    void withoutASessionNoSessionHeaderReachesTheUpstream() {
        Exchange ex = apisix.send(forged(ClientRequest.get("/open/data")));
        assertEquals(200, ex.status(), why(ex, runner));
        for (String name : HEADERS.values()) {
            assertNull(ex.upstreamHeader(name), name + "\n" + why(ex, runner));
        }
    }

    @Test
    void withRejectStatusARequestWithoutASessionIsRefused() {
        Exchange ex = apisix.send(forged(ClientRequest.get("/strict/data")));
        assertEquals(401, ex.status(), why(ex, runner));
        assertFalse(ex.upstreamCalled());
    }

    @Test
    void withASessionTheUpstreamGetsTheSessionsValues() {
        for (String prefix : new String[] {"/open", "/strict"}) {
            CookieJar jar = E2e.login(apisix, runner, prefix + "/login");
            Exchange ex = apisix.send(forged(E2e.withCookies(prefix + "/data", jar)));
            E2e.assertIdentity(ex, runner, "fiona");
            assertEquals("fiona", ex.upstreamHeader("Session-Subject"), why(ex, runner));
            assertEquals("default", ex.upstreamHeader("Session-Audience"), why(ex, runner));
            for (String name : HEADERS.values()) {
                assertNotNull(ex.upstreamHeader(name), name + "\n" + why(ex, runner));
                assertNotEquals("admin", ex.upstreamHeader(name), name + "\n" + why(ex, runner));
            }
        }
    }
}
