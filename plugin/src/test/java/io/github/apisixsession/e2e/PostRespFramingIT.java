package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.ExtPluginConf;
import io.github.apisixsession.simulator.FramingUpstream;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every response of a route with ext-plugin-post-resp (issue 18 §1, §2): one upstream call, one
 * well-formed response (no framing header twice, no hop-by-hop header of the upstream's, a length
 * that matches the body), no {@code X-Session-*} header, on HTTP/1.0 and HTTP/1.1, whatever the
 * upstream's framing (Content-Length, chunked, close-delimited), for logins, failed logins, empty
 * bodies, 204 and HEAD. The simulator plays nginx's framing and APISIX's second upstream call as
 * measured on a real APISIX 3.18 (apisix-real-gateway.md §10).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostRespFramingIT {
    private static final String WELCOME = FramingUpstream.WELCOME;
    private static final String BAD_CREDENTIALS = FramingUpstream.BAD_CREDENTIALS;
    private static final List<String> VERSIONS = List.of("HTTP/1.1", "HTTP/1.0");
    private static final List<String> FRAMINGS = List.of("length", "chunked", "close");
    /** /…/{kind}/{framing}: the answers of a login service. */
    private static final List<String> KINDS = List.of("ok", "fail", "empty", "nocontent", "notmodified", "head");

    private RunnerProcess runner;
    private SimulatedApisix apisix;


    @BeforeAll
    void start() {
        runner = E2e.start();
        String login = E2e.conf("identity", "upstream");
        String failures = E2e.conf("identity", "none", "failure_limit", 3);
        apisix = E2e.gateway(runner)
                .route(Route.uri("/login/*").preReq(E2e.session(login)).postResp(E2e.session(login))
                        .upstream(FramingUpstream::answer))
                .route(Route.uri("/api/*").preReq(E2e.session(login)))
                .route(Route.uri("/counted/*").preReq(E2e.session(failures)).postResp(E2e.session(failures))
                        .upstream(FramingUpstream::answer))
                .route(Route.uri("/noop/*").postResp(ExtPluginConf.of("noop", "{}"))
                        .upstream(FramingUpstream::answer));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    private Exchange send(String route, String kind, String framing, String version) {
        String uri = "/" + route + "/" + kind + "/" + framing;
        ClientRequest r = switch (kind) {
            case "head" -> ClientRequest.head(uri);
            case "notmodified" -> ClientRequest.get(uri).header("If-None-Match", "\"v1\"");
            default -> ClientRequest.post(uri).form("user=alice");
        };
        return apisix.send(r.httpVersion(version));
    }

    /** The body the client must get: the upstream's (none for 204 and HEAD). */
    private static String expectedBody(String kind, String framing) {
        return switch (kind) {
            case "ok" -> WELCOME;
            case "fail" -> BAD_CREDENTIALS;
            // an empty chunked body cannot be answered with an empty reply body (docs/configuration.md)
            case "empty" -> framing.equals("chunked") ? "\n" : "";
            default -> "";
        };
    }

    /**
     * What is wrong with one exchange; empty when it is right. Only the session filter with
     * {@code identity: "upstream"} strips the upstream's {@code X-Session-*} headers; the others
     * pass them on by design.
     */
    private static List<String> problems(Exchange ex, String route, String kind, String framing) {
        List<String> out = new ArrayList<>();
        if (ex.upstreamCalls() != 1) {
            out.add(ex.upstreamCalls() + " upstream calls");
        }
        int status = switch (kind) {
            case "fail" -> 401;
            case "nocontent" -> 204;
            case "notmodified" -> 304;
            default -> 200;
        };
        if (ex.status() != status) {
            out.add("status " + ex.status());
        }
        if (!ex.body().equals(expectedBody(kind, framing))) {
            out.add("body \"" + ex.body() + "\"");
        }
        for (Entry h : ex.response().headers()) {
            if (route.equals("login") && h.name().toLowerCase(Locale.ROOT).startsWith("x-session-")) {
                out.add("leaked " + h);
            }
        }
        if (ex.response().headers().contains("X-Hop")) {
            out.add("X-Hop, named by the upstream's Connection, reached the client");
        }
        out.addAll(ex.framingDefects());
        return out;
    }

    @Test
    void everyAnswerIsOneWellFormedResponseFromOneUpstreamCall() {
        List<String> failures = new ArrayList<>();
        int duplicated = 0;
        for (String route : List.of("login", "counted", "noop")) {
            int routeDuplicates = 0;
            int secondCalls = 0;
            for (String kind : KINDS) {
                for (String framing : FRAMINGS) {
                    for (String version : VERSIONS) {
                        Exchange ex = send(route, kind, framing, version);
                        routeDuplicates += ex.duplicatedFramingHeaders();
                        secondCalls += ex.upstreamCalls() - 1;
                        List<String> p = problems(ex, route, kind, framing);
                        if (!p.isEmpty()) {
                            failures.add(route + " " + kind + " " + framing + " " + version + ": " + p);
                        }
                    }
                }
            }
            // the figures for the closing note
            System.out.printf("PostRespFramingIT /%s: %d exchanges, %d duplicated framing headers, "
                    + "%d second upstream calls%n", route, KINDS.size() * FRAMINGS.size() * VERSIONS.size(),
                    routeDuplicates, secondCalls);
            duplicated += routeDuplicates;
        }
        assertEquals(0, duplicated, "duplicated framing headers\n" + String.join("\n", failures));
        assertEquals(List.of(), failures, String.join("\n", failures));
    }

    @Test
    void anHttp10LoginAgainstAChunkedUpstreamCallsItOnceAndOpensTheSession() {
        for (String framing : FRAMINGS) {
            Exchange ex = send("login", "ok", framing, "HTTP/1.0");
            assertEquals(1, ex.upstreamCalls(), framing + "\n" + why(ex, runner));
            assertNull(ex.header("X-Session-Subject"), why(ex, runner));
            assertEquals("application/json", ex.header("Content-Type"), why(ex, runner));
            assertEquals(List.of("app_pref=dark; Path=/"), ex.setCookies().stream()
                    .filter(c -> c.startsWith("app_pref=")).toList(), why(ex, runner));
            assertNotNull(E2e.sessionSetCookie(ex), why(ex, runner));
            Exchange api = apisix.send(E2e.withCookies("/api/orders", new CookieJar().update(ex.response())));
            assertEquals("alice", api.upstreamHeader("X-Consumer-Username"), why(api, runner));
            assertEquals("admin", api.upstreamHeader("X-Consumer-Groups"), why(api, runner));
        }
    }

    @Test
    void aFailedLoginOpensNoSessionOnAnyHttpVersion() {
        for (String version : VERSIONS) {
            Exchange ex = send("login", "fail", "chunked", version);
            assertEquals(401, ex.status(), why(ex, runner));
            assertEquals(1, ex.upstreamCalls(), why(ex, runner));
            assertNull(E2e.sessionSetCookie(ex), why(ex, runner));
            assertEquals(BAD_CREDENTIALS, ex.body());
        }
    }

    @Test
    void loginsWithoutABodyOpenTheSessionToo() {
        for (String kind : List.of("empty", "nocontent", "head")) {
            for (String version : VERSIONS) {
                Exchange ex = send("login", kind, "chunked", version);
                assertEquals(1, ex.upstreamCalls(), kind + " " + version + "\n" + why(ex, runner));
                assertNotNull(E2e.sessionSetCookie(ex), kind + " " + version + "\n" + why(ex, runner));
            }
        }
    }
}
