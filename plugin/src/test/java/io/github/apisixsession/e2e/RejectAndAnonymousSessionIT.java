package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@code reject_status} without a session, and {@code identity: "none"} anonymous sessions. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RejectAndAnonymousSessionIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner)
                .route(E2e.apisixRoute("/strict/*", "reject_status", 401))
                .route(Route.uri("/none/*").preReq(E2e.session(E2e.conf("identity", "none"))))
                .route(Route.uri("/none-memory/*").preReq(E2e.session(E2e.conf("identity", "none", "storage", "memory"))));
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

    @Test
    void noSessionAndNoRealConsumerIsRejectedWithJson() throws Exception {
        Exchange ex = apisix.send(ClientRequest.get("/strict/data"));
        assertEquals(401, ex.status(), why(ex, runner));
        assertFalse(ex.upstreamCalled());
        assertTrue(ex.header("Content-Type").startsWith("application/json"), ex.header("Content-Type"));
        JsonNode body = E2e.JSON.readTree(ex.body());
        assertTrue(body.hasNonNull("message"), ex.body());
    }

    @Test
    void aRealConsumerIsNotRejectedAndThenTheCookieSuffices() {
        CookieJar jar = E2e.login(apisix, runner, "/strict/login");
        Exchange ex = apisix.send(E2e.withCookies("/strict/data", jar));
        E2e.assertIdentity(ex, runner, "fiona");
    }

    @Test
    void identityNoneIssuesAnAnonymousSession() {
        for (String prefix : new String[] {"/none", "/none-memory"}) {
            Exchange first = apisix.send(ClientRequest.get(prefix + "/page"));
            assertEquals(200, first.status(), why(first, runner));
            assertTrue(first.upstreamCalled());
            assertNull(first.upstreamHeader("X-Consumer-Username"));
            SetCookie sc = E2e.sessionSetCookie(first);
            assertNotNull(sc, "an anonymous session is created\n" + why(first, runner));
            assertTrue(sc.value().length() >= 110, sc.value());

            CookieJar jar = new CookieJar().update(first.response());
            Exchange second = apisix.send(E2e.withCookies(prefix + "/page", jar));
            assertEquals(200, second.status(), why(second, runner));
            assertTrue(second.upstreamCalled());
            assertNull(E2e.sessionSetCookie(second), "the session is reused, no new cookie\n" + why(second, runner));
            assertNull(second.upstreamHeader("X-Consumer-Username"), why(second, runner));
        }
    }

    @Test
    void identityNoneRunsInPreReqWithoutConsumerPrepareConfs() {
        Exchange ex = apisix.send(ClientRequest.get("/none/x"));
        assertTrue(ex.transcriptContains("[pre-req] HTTPReqCall"), ex.transcriptText());
        assertTrue(apisix.cachedTokens().containsKey("route#none#ext-plugin-pre-req#1"), apisix.cachedTokens().toString());
    }
}
