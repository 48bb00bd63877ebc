package io.github.apisixsession.core;

import io.github.apisixsession.core.http.SessionHeaders;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code request_headers}: the {@code Session-*} headers reach the upstream only with the values
 * of the request's valid session. A client's own value under one of the configured names is
 * removed without a session, with an invalid one, and where the session has no value for it.
 */
class SessionRequestHeadersTest extends EngineTestBase {

    private static final String FORGED = "admin";

    static Stream<String> names() {
        return SessionHeaders.NAMES.keySet().stream().sorted();
    }

    private static String headerName(String option) {
        return SessionHeaders.NAMES.get(option);
    }

    private SessionRoute route(String option, String extra) throws Exception {
        return route("\"request_headers\":[\"" + option + "\"]" + (extra.isEmpty() ? "" : "," + extra));
    }

    /** Whether the changes remove {@code name} and set it to nothing. */
    private static boolean removed(List<HttpHeader> changes, String name) {
        boolean removal = false;
        for (HttpHeader h : changes) {
            if (h.is(name)) {
                if (!h.isRemoval()) {
                    return false;
                }
                removal = true;
            }
        }
        return removal;
    }

    @ParameterizedTest
    @MethodSource("names")
    void withoutASessionTheClientsValueIsRemoved(String option) throws Exception {
        SessionRoute route = route(option, "");
        RequestDecision.Proceed p = proceed(engine.onRequest(route,
                TestRequest.get("/").header(headerName(option), FORGED)));
        assertTrue(removed(p.requestHeaders(), headerName(option)), p.requestHeaders().toString());
    }

    @ParameterizedTest
    @MethodSource("names")
    void withAnInvalidSessionTheClientsValueIsRemoved(String option) throws Exception {
        SessionRoute route = route(option, "");
        String cookie = login(route, "fiona");
        String tampered = cookie.substring(0, cookie.length() - 2) + (cookie.endsWith("AA") ? "BB" : "AA");
        RequestDecision.Proceed p = proceed(engine.onRequest(route,
                TestRequest.get("/").cookie(tampered).header(headerName(option), FORGED)));
        assertEquals("<absent>", header(p.requestHeaders(), "X-Consumer-Username"), "the session did not open");
        assertTrue(removed(p.requestHeaders(), headerName(option)), p.requestHeaders().toString());
    }

    @ParameterizedTest
    @MethodSource("names")
    void withRejectStatusARequestWithoutASessionNeverReachesTheUpstream(String option) throws Exception {
        SessionRoute route = route(option, "\"reject_status\":401");
        RequestDecision.Respond r = assertInstanceOf(RequestDecision.Respond.class, engine.onRequest(route,
                TestRequest.get("/").header(headerName(option), FORGED)));
        assertEquals(401, r.status());
    }

    @ParameterizedTest
    @MethodSource("names")
    void withASessionTheValueIsTheSessionsOwn(String option) throws Exception {
        for (String extra : new String[] {"", "\"reject_status\":401"}) {
            SessionRoute route = route(option, extra);
            String cookie = login(route, "fiona");
            clock.advance(5);
            RequestDecision.Proceed p = proceed(engine.onRequest(route,
                    TestRequest.get("/").cookie(cookie).header(headerName(option), FORGED)));
            String sent = header(p.requestHeaders(), headerName(option));
            assertNotEquals(FORGED, sent);
            assertNotEquals("<absent>", sent, "fiona's session has a value for " + option);
            assertFalse(sent == null || sent.isEmpty(), p.requestHeaders().toString());
            if (option.equals("subject")) {
                assertEquals("fiona", sent);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("names")
    void aValueTheSessionDoesNotHaveIsRemoved(String option) throws Exception {
        // an anonymous session has no subject; with every timeout off there is no timeout header
        SessionRoute route = route(option, "\"identity\":\"none\",\"idling_timeout\":0,\"rolling_timeout\":0,"
                + "\"absolute_timeout\":0");
        RequestDecision.Proceed first = proceed(engine.onRequest(route, TestRequest.get("/")));
        String cookie = cookieOf(first.responseHeaders());
        RequestDecision.Proceed p = proceed(engine.onRequest(route,
                TestRequest.get("/").cookie(cookie).header(headerName(option), FORGED)));
        String sent = header(p.requestHeaders(), headerName(option));
        assertNotEquals(FORGED, sent, p.requestHeaders().toString());
        if (!List.of("id", "audience").contains(option)) {
            assertTrue(removed(p.requestHeaders(), headerName(option)), p.requestHeaders().toString());
        }
    }
}
