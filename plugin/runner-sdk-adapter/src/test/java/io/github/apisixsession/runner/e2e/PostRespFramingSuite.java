package io.github.apisixsession.runner.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.FramingUpstream;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 18 §1, §2 on each host: every response of a post-resp route is one well-formed response
 * from one upstream call, without {@code X-Session-*} headers, for HTTP/1.0 and HTTP/1.1 clients
 * and Content-Length, chunked and close-delimited upstreams; logins, failed logins, empty bodies,
 * 204 and HEAD. On the official runner every session route has post-resp.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class PostRespFramingSuite {
    private static final String WELCOME = FramingUpstream.WELCOME;
    private static final String BAD_CREDENTIALS = FramingUpstream.BAD_CREDENTIALS;
    private static final List<String> KINDS = List.of("ok", "fail", "empty", "nocontent", "notmodified", "head");

    private final Host host;
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    PostRespFramingSuite(Host host) {
        this.host = host;
    }

    private static String conf(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("secret", Host.SECRET);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        try {
            return new ObjectMapper().writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }


    @BeforeAll
    void start() {
        runner = host.start();
        apisix = SimulatedApisix.in(runner).consumer(Consumer.of("fiona", "open_sesame"))
                .consumer("anon", "anon-key-never-sent");
        apisix.route(host.session(Route.uri("/login/*").upstream(FramingUpstream::answer), true,
                conf("identity", "upstream"), true));
        apisix.route(host.session(Route.uri("/app/*").keyAuth(KeyAuth.withAnonymous("anon"))
                .upstream(FramingUpstream::answer), false,
                conf("identity", "apisix", "anonymous_consumer", "anon"), false));
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

    private String expectedBody(String kind, String framing) {
        return switch (kind) {
            case "ok" -> WELCOME;
            case "fail" -> BAD_CREDENTIALS;
            case "empty" -> framing.equals("chunked") ? (host == Host.OURS ? "\n" : ".") : "";
            default -> "";
        };
    }

    @Test
    void everyAnswerIsOneWellFormedResponseFromOneUpstreamCall() {
        List<String> failures = new ArrayList<>();
        // our host has post-resp on the login route only; /app is then a plain proxied route
        for (String route : host == Host.OURS ? List.of("login") : List.of("login", "app")) {
            for (String kind : KINDS) {
                for (String framing : List.of("length", "chunked", "close")) {
                    for (String version : List.of("HTTP/1.1", "HTTP/1.0")) {
                        String uri = "/" + route + "/" + kind + "/" + framing;
                        ClientRequest request = switch (kind) {
                            case "head" -> ClientRequest.head(uri);
                            case "notmodified" -> ClientRequest.get(uri).header("If-None-Match", "\"v1\"");
                            default -> ClientRequest.post(uri).form("user=alice");
                        };
                        if (route.equals("app")) {
                            request.apikey("open_sesame");
                        }
                        Exchange ex = apisix.send(request.httpVersion(version));
                        List<String> p = new ArrayList<>(ex.framingDefects());
                        if (ex.upstreamCalls() != 1) {
                            p.add(ex.upstreamCalls() + " upstream calls");
                        }
                        if (!ex.body().equals(expectedBody(kind, framing))) {
                            p.add("body \"" + ex.body() + "\"");
                        }
                        for (Entry h : ex.response().headers()) {
                            String name = h.name().toLowerCase(Locale.ROOT);
                            if (route.equals("login") && name.startsWith("x-session-") || name.equals("x-hop")) {
                                p.add("reached the client: " + h);
                            }
                        }
                        String sc = ex.response().setCookie("session");
                        if (!kind.equals("fail") && (sc == null || SetCookie.parse(sc).value().isEmpty())) {
                            p.add("no session cookie");
                        }
                        if (!p.isEmpty()) {
                            failures.add(route + " " + kind + " " + framing + " " + version + ": " + p);
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), failures, "[" + host + "]\n" + String.join("\n", failures));
    }

    @Test
    void theBodyIsFetchedOnlyWhenTheReplyCannotStateTheUpstreamsLength() {
        Exchange length = apisix.send(ClientRequest.post("/login/ok/length").form("user=alice"));
        Exchange chunked = apisix.send(ClientRequest.post("/login/ok/chunked").form("user=alice"));
        assertEquals(host == Host.OURS ? 1 : 0, length.transcriptCount("ExtraInfo RespBody"), length.transcriptText());
        assertEquals(1, chunked.transcriptCount("ExtraInfo RespBody"), chunked.transcriptText());
        Exchange app = apisix.send(ClientRequest.get("/app/ok/chunked").apikey("open_sesame"));
        assertTrue(app.transcript().stream()
                .noneMatch(l -> l.contains("ExtraInfo RespBody") && !l.startsWith("[post-resp]")),
                "never in the request phase\n" + app.transcriptText());
    }

    @Test
    void anHttp10LoginOnAChunkedUpstreamCallsItOnce() {
        Exchange ex = apisix.send(ClientRequest.post("/login/ok/chunked").form("user=alice").http10());
        assertEquals(1, ex.upstreamCalls(), "[" + host + "]\n" + ex.transcriptText() + "\n" + runner.logs());
        assertEquals(WELCOME, ex.body());
        assertNotNull(ex.response().setCookie("session"), ex.transcriptText());
        assertEquals(List.of(), ex.framingDefects());
    }
}
