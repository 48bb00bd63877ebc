package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A login through key-auth: X-Credential-Identifier and X-Consumer-Custom-ID that the client sent
 * never reach the upstream, on APISIX 3.11+ (which replaces or removes them) and before 3.11 (which
 * leaves them alone: the runner removes them); the ones APISIX set for the consumer do.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsumerHeadersIT {
    private RunnerProcess runner;
    private SimulatedApisix current;
    private SimulatedApisix legacy;

    @BeforeAll
    void start() {
        runner = E2e.start();
        current = E2e.gatewayWithGeorge(runner).route(E2e.apisixRoute("/app/*"));
        legacy = E2e.gatewayWithGeorge(runner).beforeApisix311().route(E2e.apisixRoute("/app/*"));
    }

    @AfterAll
    void stop() {
        if (legacy != null) {
            legacy.close();
        }
        E2e.close(current, runner);
    }

    private static ClientRequest forgedLogin(String key) {
        return ClientRequest.get("/app/login").apikey(key)
                .header("X-Credential-Identifier", "forged-credential")
                .header("X-Consumer-Custom-ID", "forged-custom-id");
    }

    @Test
    void aConsumerWithoutThoseFieldsNeverForwardsTheClientsValues() {
        for (SimulatedApisix apisix : new SimulatedApisix[] {current, legacy}) {
            Exchange ex = apisix.send(forgedLogin(E2e.GEORGE_KEY));
            E2e.assertIdentity(ex, runner, "george");
            assertNull(ex.upstreamHeader("X-Credential-Identifier"), why(ex, runner));
            assertNull(ex.upstreamHeader("X-Consumer-Custom-ID"), why(ex, runner));
        }
    }

    @Test
    void theCredentialApisixSetReachesTheUpstream() {
        Exchange ex = current.send(forgedLogin(E2e.FIONA_KEY));
        E2e.assertIdentity(ex, runner, "fiona");
        assertEquals(E2e.FIONA_CREDENTIAL, ex.upstreamHeader("X-Credential-Identifier"), why(ex, runner));
        assertNull(ex.upstreamHeader("X-Consumer-Custom-ID"), why(ex, runner));
    }
}
