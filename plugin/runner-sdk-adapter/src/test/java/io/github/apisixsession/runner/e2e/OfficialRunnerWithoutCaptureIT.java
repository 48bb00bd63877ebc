package io.github.apisixsession.runner.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The official runner 0.4.0 as it is, without the adapter's capture of upstream headers
 * ({@code -Dapisix-session.runner-fix=false}): what the documentation's "without the fix" column
 * says, measured. Once the runner has fetched a variable, an HTTPRespCall's upstream headers
 * cannot be read, so the response half can only send the cookies it kept, and APISIX then drops
 * every upstream header; with nothing to send, APISIX copies them but loses Content-Type.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OfficialRunnerWithoutCaptureIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = Host.OFFICIAL.start("-Dapisix-session.runner-fix=false");
        String conf = SessionFlowsSuite.conf("identity", "apisix", "anonymous_consumer", "anon");
        String upstreamConf = SessionFlowsSuite.conf("identity", "upstream");
        apisix = SimulatedApisix.in(runner)
                .consumer(Consumer.of("fiona", SessionFlowsSuite.FIONA_KEY))
                .consumer("anon", "anon-key-never-sent")
                .route(Host.OFFICIAL.session(Route.uri("/app/*").keyAuth(KeyAuth.withAnonymous("anon"))
                        .upstream(SessionFlowsSuite::app), false, conf, false))
                .route(Host.OFFICIAL.session(Route.uri("/login").upstream(SessionFlowsSuite::loginService), true,
                        upstreamConf, true));
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

    private String why(Exchange ex) {
        return ex.transcriptText() + "\n--- runner\n" + runner.logs();
    }

    @Test
    void theCaptureIsOff() {
        assertTrue(runner.logs().contains("apisix-session.runner-fix=false"), runner.logs());
    }

    @Test
    void aResponseThatSetsACookieLosesEveryUpstreamHeader() {
        Exchange ex = apisix.send(ClientRequest.get("/app/login").apikey(SessionFlowsSuite.FIONA_KEY));
        assertEquals(200, ex.status(), why(ex));
        assertNotNull(ex.response().setCookie("session"), why(ex));
        assertNull(ex.header("X-Up"), why(ex));
        assertNull(ex.response().setCookie("up1"), why(ex));
        assertNull(ex.response().setCookie("up2"), why(ex));
        assertEquals("text/plain; charset=utf-8", ex.header("Content-Type"), why(ex));
    }

    @Test
    void aResponseWithNothingToSetKeepsTheUpstreamHeadersButNotContentType() {
        Exchange login = apisix.send(ClientRequest.get("/app/login").apikey(SessionFlowsSuite.FIONA_KEY));
        CookieJar jar = new CookieJar().update(login.response());
        Exchange ex = apisix.send(ClientRequest.get("/app/data").cookies(jar));
        assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), why(ex));
        assertEquals("upstream-value", ex.header("X-Up"), why(ex));
        assertNotNull(ex.response().setCookie("up1"), why(ex));
        assertNotNull(ex.response().setCookie("up2"), why(ex));
        assertEquals("text/plain; charset=utf-8", ex.header("Content-Type"), why(ex));
    }

    @Test
    void anUpstreamLoginCannotBeSeen() {
        Exchange ex = apisix.send(ClientRequest.post("/login").form("user=alice"));
        assertEquals(200, ex.status(), why(ex));
        assertNull(ex.response().setCookie("session"), why(ex));
        assertTrue(runner.logs().contains("upstream headers not captured"), runner.logs());
    }
}
