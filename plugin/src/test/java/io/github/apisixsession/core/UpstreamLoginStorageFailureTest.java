package io.github.apisixsession.core;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An {@code identity: "upstream"} login whose session cannot be stored: the client gets
 * {@code storage_error_status} with the engine's JSON reason, never the upstream's login response
 * (which would look like a successful login without a session).
 */
class UpstreamLoginStorageFailureTest extends EngineTestBase {

    @Test
    void theLoginResponseIsReplacedByTheStorageError() throws Exception {
        SessionRoute route = route("\"identity\":\"upstream\",\"storage\":\"outage\",\"storage_error_status\":598");
        outage.down = true;
        ResponseDecision d = engine.onResponse(route, response(200, List.of(
                new HttpHeader("Content-Type", "text/html"), new HttpHeader("X-Session-Subject", "fiona"))));
        assertEquals(598, d.status());
        assertEquals(List.of(new HttpHeader("Content-Type", "application/json")), d.headers());
        assertNotNull(d.body(), "an answer of its own, not the upstream's body");
        assertTrue(new String(d.body(), StandardCharsets.UTF_8).contains("session storage unavailable"));

        outage.down = false;
        ResponseDecision ok = engine.onResponse(route, response(200, List.of(
                new HttpHeader("Content-Type", "text/html"), new HttpHeader("X-Session-Subject", "fiona"))));
        assertEquals(null, ok.body(), "a stored login passes the upstream's body through");
        assertTrue(setCookies(ok.headers()).size() == 1);
    }
}
