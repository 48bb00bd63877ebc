package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A bad conf is refused at PrepareConf with an error frame (BAD_REQUEST), so APISIX answers 503;
 * the runner logs the offending field. Secrets from the environment and random secrets work.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigErrorsIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner);
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

    /** conf JSON and the field name the runner must log. */
    static List<Object[]> badConfs() {
        String s = "\"secret\":\"" + E2e.SECRET + "\"";
        return List.of(
                new Object[] {"unknown-key", "{" + s + ",\"no_such_option\":1}", "no_such_option"},
                new Object[] {"wrong-type-number", "{" + s + ",\"idling_timeout\":\"soon\"}", "idling_timeout"},
                new Object[] {"wrong-type-bool", "{" + s + ",\"cookie_http_only\":\"yes\"}", "cookie_http_only"},
                new Object[] {"wrong-type-array", "{" + s + ",\"logout_methods\":\"POST\"}", "logout_methods"},
                new Object[] {"missing-secret", "{\"identity\":\"none\"}", "secret"},
                new Object[] {"unknown-storage", "{" + s + ",\"storage\":\"floppy\"}", "storage"},
                new Object[] {"unknown-identity", "{" + s + ",\"identity\":\"telepathy\"}", "identity"},
                new Object[] {"not-an-object", "[1,2,3]", null},
                new Object[] {"not-json", "{secret: nope", null});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badConfs")
    void badConfIsRefusedAtPrepareConf(String id, String conf, String field) {
        apisix.route(Route.uri("/bad-" + id).preReq(E2e.session(conf)));
        Exchange ex = apisix.send(ClientRequest.get("/bad-" + id));
        assertEquals(503, ex.status(), why(ex, runner));
        assertFalse(ex.upstreamCalled());
        assertTrue(ex.transcriptContains("PrepareConf key=route#bad" + id.replace("-", "")), ex.transcriptText());
        assertTrue(ex.transcriptContains("Error{BAD_REQUEST}"), ex.transcriptText());
        if (field != null) {
            assertTrue(runner.awaitLog(field, Duration.ofSeconds(5)), "the runner logs the field " + field
                    + "\n" + why(ex, runner));
        }
        assertTrue(runner.isAlive());
    }

    @Test
    void allowDegradationLetsTheRequestThroughDespiteABadConf() {
        apisix.route(Route.uri("/bad-degraded").preReq(E2e.session("{\"no_such_option\":1}").allowDegradation(true)));
        Exchange ex = apisix.send(ClientRequest.get("/bad-degraded"));
        assertEquals(200, ex.status(), why(ex, runner));
        assertTrue(ex.upstreamCalled());
    }

    @Test
    void secretFromTheRunnersEnvironment() {
        apisix.route(E2e.apisixRoute("/env/*", "secret", "$env://SESSION_SECRET"));
        E2e.login(apisix, runner, "/env/login");
    }

    @Test
    void missingEnvironmentSecretIsAConfError() {
        apisix.route(E2e.apisixRoute("/noenv/*", "secret", "$env://NO_SUCH_SESSION_SECRET_VAR"));
        Exchange ex = apisix.send(ClientRequest.get("/noenv/x").apikey(E2e.FIONA_KEY));
        assertEquals(503, ex.status(), why(ex, runner));
    }

    @Test
    void randomSecretNeedsNoSecret() {
        String conf = E2e.json(Map.of("identity", "none", "random_secret", true));
        apisix.route(Route.uri("/random").preReq(E2e.session(conf)));
        Exchange ex = apisix.send(ClientRequest.get("/random"));
        assertEquals(200, ex.status(), why(ex, runner));
        assertNotNull(E2e.sessionSetCookie(ex), why(ex, runner));
    }
}
