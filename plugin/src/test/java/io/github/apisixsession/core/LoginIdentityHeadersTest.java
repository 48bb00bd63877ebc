package io.github.apisixsession.core;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * At a login, X-Credential-Identifier and X-Consumer-Custom-ID reach the upstream only where APISIX
 * set them in this request (3.11+: together with X-Consumer-Username for the consumer); a client's
 * own values are removed (APISIX before 3.11, or a consumer without those fields on a gateway that
 * leaves them alone).
 */
class LoginIdentityHeadersTest extends EngineTestBase {

    private static boolean removes(List<HttpHeader> changes, String name) {
        return changes.stream().anyMatch(h -> h.is(name) && h.isRemoval());
    }

    private static boolean touches(List<HttpHeader> changes, String name) {
        return changes.stream().anyMatch(h -> h.is(name));
    }

    @Test
    void headersApisixSetForTheConsumerStay() throws Exception {
        SessionRoute route = route("");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")
                .header("X-Consumer-Username", "fiona").header("X-Credential-Identifier", "cred-fiona")
                .header("X-Consumer-Custom-ID", "cust-7")));
        assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"));
        assertTrue(!touches(p.requestHeaders(), "X-Credential-Identifier"), p.requestHeaders().toString());
        assertTrue(!touches(p.requestHeaders(), "X-Consumer-Custom-ID"), p.requestHeaders().toString());
    }

    @Test
    void withoutApisixsUsernameHeaderTheClientsValuesAreRemoved() throws Exception {
        SessionRoute route = route("");
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").consumer("fiona")
                .header("X-Credential-Identifier", "forged").header("X-Consumer-Custom-ID", "forged")));
        assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"));
        assertTrue(removes(p.requestHeaders(), "X-Credential-Identifier"), p.requestHeaders().toString());
        assertTrue(removes(p.requestHeaders(), "X-Consumer-Custom-ID"), p.requestHeaders().toString());
    }

    @Test
    void aUsernameHeaderForSomeoneElseOrTwiceDoesNotVouchForThem() throws Exception {
        SessionRoute route = route("");
        for (TestRequest request : List.of(
                TestRequest.get("/").consumer("fiona").header("X-Consumer-Username", "mallory"),
                TestRequest.get("/").consumer("fiona").header("X-Consumer-Username", "fiona")
                        .header("X-Consumer-Username", "fiona"),
                TestRequest.get("/").consumer("fiona").header("X-Consumer-Username", "Fiona"))) {
            request.header("X-Credential-Identifier", "forged").header("X-Consumer-Custom-ID", "forged");
            RequestDecision.Proceed p = proceed(engine.onRequest(route, request));
            assertTrue(removes(p.requestHeaders(), "X-Credential-Identifier"), p.requestHeaders().toString());
            assertTrue(removes(p.requestHeaders(), "X-Consumer-Custom-ID"), p.requestHeaders().toString());
        }
    }
}
