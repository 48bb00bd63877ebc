package io.github.apisixsession.core;

import io.github.apisixsession.core.config.SessionConfigParser;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The steady-state request skips the ExtraInfo round trip for {@code consumer_name} when the
 * X-Consumer-Username header names the anonymous consumer or the subject of the request's valid
 * session, and asks otherwise. Whatever a client puts in that header, the identity the upstream
 * gets and the sessions created are what asking would have given, or what the session alone gives.
 */
class ConsumerHeaderShortcutTest extends EngineTestBase {

    private static final String ROUTE = "\"anonymous_consumer\":\"anon\"";

    private String fionaCookie() throws Exception {
        return login(route(ROUTE), "fiona");
    }

    private static TestRequest request(String cookie, List<String> claimed, String truth) {
        TestRequest r = TestRequest.get("/").consumer(truth);
        if (cookie != null) {
            r.cookie(cookie);
        }
        for (String name : claimed) {
            r.header("X-Consumer-Username", name);
        }
        return r;
    }

    private int consumerNameReads(String cookie, List<String> claimed, String truth) throws Exception {
        TestRequest r = request(cookie, claimed, truth);
        engine.onRequest(route(ROUTE), r);
        return r.variableReads("consumer_name");
    }

    @Test
    void theAnonymousConsumerNeedsNoRoundTrip() throws Exception {
        assertEquals(0, consumerNameReads(null, List.of("anon"), "anon"), "keyless request, no session");
        assertEquals(0, consumerNameReads(fionaCookie(), List.of("anon"), "anon"), "a browser with its cookie");
        assertEquals(0, consumerNameReads(null, List.of("anon"), ""), "forged on a route without auth plugin");
    }

    @Test
    void theSessionsOwnSubjectNeedsNoRoundTrip() throws Exception {
        String cookie = fionaCookie();
        TestRequest r = request(cookie, List.of("fiona"), "fiona");
        RequestDecision.Proceed p = proceed(engine.onRequest(route(ROUTE), r));
        assertEquals(0, r.variableReads("consumer_name"));
        assertEquals("fiona", header(p.requestHeaders(), "X-Consumer-Username"));
        assertTrue(setCookies(p.responseHeaders()).isEmpty(), "the session is kept, no new login");
    }

    @Test
    void anythingElseIsAsked() throws Exception {
        String cookie = fionaCookie();
        assertEquals(1, consumerNameReads(cookie, List.of("george"), "george"), "another name");
        assertEquals(1, consumerNameReads(null, List.of("fiona"), "fiona"), "a name, but no session");
        assertEquals(1, consumerNameReads(cookie, List.of(), ""), "no header (no auth plugin)");
        assertEquals(1, consumerNameReads(cookie, List.of("anon", "anon"), "anon"), "the header twice");
        assertEquals(1, consumerNameReads(cookie, List.of("fiona", "anon"), "anon"), "two names");
        assertEquals(1, consumerNameReads(cookie, List.of("ANON"), "anon"), "another case is another name");
        assertEquals(1, consumerNameReads(cookie, List.of("Fiona"), "fiona"), "another case is another name");
        assertEquals(1, consumerNameReads(cookie, List.of(""), ""), "empty");
    }

    /** What one request yields: the username the upstream gets, and the subject of a new session. */
    private record Outcome(String username, String newSubject) {
    }

    private Outcome outcome(String cookie, List<String> claimed, String truth) throws Exception {
        try (SessionEngine fresh = new SessionEngine(clock, storages())) {
            SessionConfigParser parser = new SessionConfigParser(Map.<String, String>of()::get, fresh.storages().names(), "p");
            SessionRoute route = fresh.prepare(parser.parse("{\"secret\":\"" + SECRET
                    + "\",\"cookie_secure\":false," + ROUTE + "}"));
            RequestDecision d = fresh.onRequest(route, request(cookie, claimed, truth));
            if (!(d instanceof RequestDecision.Proceed p)) {
                return new Outcome("<refused>", null);
            }
            String created = null;
            if (!setCookies(p.responseHeaders()).isEmpty()) {
                RequestDecision.Proceed next = proceed(fresh.onRequest(route,
                        TestRequest.get("/").cookie(cookieOf(p.responseHeaders()))));
                created = header(next.requestHeaders(), "X-Consumer-Username");
            }
            return new Outcome(username(p.requestHeaders()), created);
        }
    }

    /** The username the upstream receives: set, or none (removed, or never sent). */
    private static String username(List<HttpHeader> changes) {
        String v = header(changes, "X-Consumer-Username");
        return v == null || v.equals("<absent>") ? "" : v;
    }

    @Test
    void noHeaderValueEverYieldsAnIdentityAskingWouldNotHaveGiven() throws Exception {
        String fiona = fionaCookie();
        List<String> truths = List.of("", "anon", "fiona", "george");
        List<List<String>> headers = List.of(List.of(), List.of("anon"), List.of("fiona"), List.of("george"),
                List.of("anon", "anon"), List.of("Anon"), List.of("fiona", "george"), List.of(""),
                List.of("x-forged"));
        Random random = new Random(20261206L);
        List<String> cases = new ArrayList<>();
        for (String cookie : new String[] {null, fiona}) {
            // what the session alone gives: no consumer at all
            Outcome sessionOnly = outcome(cookie, List.of(), "");
            for (String truth : truths) {
                Outcome asked = outcome(cookie, List.of(), truth); // no header: always asked
                for (List<String> claimed : headers) {
                    Outcome got = outcome(cookie, claimed, truth);
                    String where = "cookie=" + (cookie != null) + " truth=" + truth + " header=" + claimed;
                    assertTrue(got.equals(asked) || got.equals(sessionOnly),
                            where + ": " + got + " is neither " + asked + " nor " + sessionOnly);
                    cases.add(where);
                }
            }
        }
        assertEquals(2 * truths.size() * headers.size(), cases.size());
        // and in random order, with the same cookie reused across engines
        for (int i = 0; i < 50; i++) {
            String truth = truths.get(random.nextInt(truths.size()));
            List<String> claimed = headers.get(random.nextInt(headers.size()));
            Outcome got = outcome(fiona, claimed, truth);
            assertTrue(got.equals(outcome(fiona, List.of(), truth)) || got.equals(outcome(fiona, List.of(), "")),
                    truth + " " + claimed + " " + got);
        }
    }
}
