package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.ResponseDecision;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPRespCall replies, whoever builds them (no plugin decided, or a plugin's decision): never an
 * upstream hop-by-hop header nor its Content-Length, always something that makes APISIX send one
 * response without calling the upstream again (issue 18 §1, §2).
 */
@Timeout(60)
class RespCallRepliesTest {

    private static final List<HttpHeader> HOP_BY_HOP_UPSTREAM = List.of(
            new HttpHeader("Content-Type", "application/json"),
            new HttpHeader("Connection", "keep-alive, X-Hop"), new HttpHeader("Keep-Alive", "timeout=5"),
            new HttpHeader("Transfer-Encoding", "chunked"), new HttpHeader("TE", "trailers"),
            new HttpHeader("Trailer", "X-Checksum"), new HttpHeader("Upgrade", "h2c"),
            new HttpHeader("Proxy-Authenticate", "Basic"), new HttpHeader("Proxy-Authorization", "Basic eA=="),
            new HttpHeader("Proxy-Connection", "keep-alive"), new HttpHeader("X-Hop", "named by Connection"),
            new HttpHeader("Set-Cookie", "up=1"));

    @TempDir
    Path dir;

    private ExtPluginServer server;

    /** Decides the upstream's headers plus a cookie called X-Hop, which Connection also names. */
    private final TestPlugin decide = TestPlugin.onResponse("decide", (config, r) -> {
        List<HttpHeader> out = new ArrayList<>(r.headers());
        out.add(new HttpHeader("X-Hop", "the plugin's own"));
        out.add(new HttpHeader("Set-Cookie", "session=s"));
        return new ResponseDecision(Integer.parseInt(config), out);
    });

    /** Answers in place of the upstream, as the session plugin does when a login cannot be stored. */
    private final TestPlugin answer = TestPlugin.onResponse("answer", (config, r) -> new ResponseDecision(503,
            List.of(new HttpHeader("Content-Type", "application/json")),
            "{\"message\":\"session storage unavailable\"}".getBytes(StandardCharsets.UTF_8)));

    private final TestPlugin boom = TestPlugin.onResponse("boom", (config, r) -> {
        throw new IllegalStateException("kaputt");
    });

    @BeforeEach
    void start() throws IOException {
        server = ExtPluginServer.start(HostSettings.of(dir.resolve("a6.sock")), List.of(new NoopPlugin(), decide, boom, answer));
    }

    @AfterEach
    void stop() {
        server.shutdown(Duration.ofSeconds(1));
    }

    private TestGateway.Exchange call(String plugin, String conf, int status, List<HttpHeader> upstream,
                                      byte[] body, String method) throws IOException {
        return call(plugin, conf, status, upstream, body, method, "HTTP/1.1");
    }

    private TestGateway.Exchange call(String plugin, String conf, int status, List<HttpHeader> upstream,
                                      byte[] body, String method, String protocol) throws IOException {
        try (TestGateway gw = TestGateway.connect(dir.resolve("a6.sock"))) {
            long token = gw.prepareConf("k", plugin, conf);
            return gw.respCall(token, 9, status, upstream,
                    Map.of("request_method", method, "request_id", "r", "server_protocol", protocol), body);
        }
    }

    private static List<HttpHeader> headers(TestGateway.Exchange ex) {
        var resp = ex.respResp();
        return TestGateway.headers(resp.headersLength(), resp::headers);
    }

    private static byte[] body(TestGateway.Exchange ex) {
        var resp = ex.respResp();
        byte[] out = new byte[resp.bodyLength()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) resp.body(i);
        }
        return out;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void noReplyCarriesAnUpstreamHopByHopHeaderNorItsLength() throws Exception {
        List<HttpHeader> upstream = new ArrayList<>(HOP_BY_HOP_UPSTREAM);
        upstream.add(new HttpHeader("Content-Length", "2"));
        for (String plugin : List.of("noop", "decide")) {
            List<HttpHeader> sent = headers(call(plugin, "0", 200, upstream, bytes("{}"), "POST"));
            List<String> names = sent.stream().map(h -> h.name().toLowerCase(Locale.ROOT)).toList();
            for (String never : List.of("connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                    "proxy-authenticate", "proxy-authorization", "proxy-connection", "content-length")) {
                assertTrue(!names.contains(never), plugin + ": " + never + " in " + sent);
            }
            assertTrue(!sent.contains(new HttpHeader("X-Hop", "named by Connection")), plugin + ": " + sent);
            assertTrue(sent.contains(new HttpHeader("Content-Type", "application/json")), sent.toString());
            assertTrue(sent.contains(new HttpHeader("Set-Cookie", "up=1")), sent.toString());
        }
        List<HttpHeader> decided = headers(call("decide", "0", 200, upstream, bytes("{}"), "POST"));
        assertTrue(decided.contains(new HttpHeader("X-Hop", "the plugin's own")), "a plugin's own field stays");
        assertTrue(decided.contains(new HttpHeader("Set-Cookie", "session=s")));
    }

    @Test
    void theUpstreamBodyGoesBackWithTheReply() throws Exception {
        byte[] binary = {0, (byte) 0xff, (byte) 0xc3, 0x28, '\n'};
        TestGateway.Exchange ex = call("decide", "401", 401, HOP_BY_HOP_UPSTREAM, binary, "POST");
        assertEquals(List.of("(response body)"), ex.varsAsked(), "the body, once; no method asked");
        assertArrayEquals(binary, body(ex));
        assertEquals(401, ex.respResp().status());
    }

    @Test
    void anEmptyBodyWithALengthIsAnsweredWithContentLengthZero() throws Exception {
        List<HttpHeader> upstream = List.of(new HttpHeader("X-Up", "1"), new HttpHeader("Content-Length", "0"));
        TestGateway.Exchange ex = call("noop", "", 200, upstream, new byte[0], "POST");
        assertEquals(List.of(new HttpHeader("X-Up", "1"), new HttpHeader("Content-Length", "0")), headers(ex));
        assertEquals(0, ex.respResp().bodyLength());
        assertEquals(List.of("(response body)", "request_method"), ex.varsAsked());
        // close-delimited: no length at all
        TestGateway.Exchange closed = call("noop", "", 200, List.of(new HttpHeader("X-Up", "1")), new byte[0], "GET");
        assertEquals(List.of(new HttpHeader("X-Up", "1"), new HttpHeader("Content-Length", "0")), headers(closed));
    }

    @Test
    void whenApisixPrintsNothingTheReplyCarriesAPlaceholder() throws Exception {
        List<HttpHeader> chunked = List.of(new HttpHeader("Transfer-Encoding", "chunked"));
        List<HttpHeader> length = List.of(new HttpHeader("Content-Length", "0"));
        List<HttpHeader> headLength = List.of(new HttpHeader("Content-Length", "42"));
        // status, upstream headers, method, protocol, what it is, the Content-Length the reply states
        Object[][] cases = {
            {200, chunked, "GET", "HTTP/1.1", "an empty chunked body", null},
            {200, chunked, "GET", "HTTP/1.0", "an empty chunked body, HTTP/1.0: nginx counts the byte", null},
            {204, length, "POST", "HTTP/1.1", "204: never a length (RFC 9110 §8.6)", null},
            {204, length, "POST", "HTTP/1.0", "204, HTTP/1.0: else ngx_lua sends the byte after the head", "0"},
            {304, List.of(), "GET", "HTTP/1.1", "304 without a length", null},
            {304, List.of(), "GET", "HTTP/1.0", "304 without a length, HTTP/1.0", "0"},
            {304, headLength, "GET", "HTTP/1.0", "304 with the length a 200 would have", "42"},
            {200, length, "HEAD", "HEAD", "HEAD", "0"},
            {200, List.of(), "HEAD", "HTTP/1.0", "HEAD, no length", null},
            {200, headLength, "GET", "HTTP/1.1", "a length but nothing read: the answer to a HEAD", "42"},
        };
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            TestGateway.Exchange ex = call("noop", "", (int) c[0], (List<HttpHeader>) c[1], new byte[0], (String) c[2],
                    (String) c[3]);
            assertEquals("\n", new String(body(ex), StandardCharsets.UTF_8), (String) c[4]);
            List<String> lengths = headers(ex).stream().filter(h -> h.is("Content-Length")).map(HttpHeader::value)
                    .toList();
            assertEquals(c[5] == null ? List.of() : List.of(c[5]), lengths, c[4] + ": " + headers(ex));
        }
    }

    @Test
    void aBodyApisixCouldNotReadIsA502AndNoPluginRuns() throws Exception {
        TestGateway.Exchange ex = call("decide", "0", 200, HOP_BY_HOP_UPSTREAM, null, "POST");
        assertEquals(502, ex.respResp().status());
        assertEquals(List.of(new HttpHeader("Content-Type", "application/json")), headers(ex));
        assertEquals("{\"message\":\"upstream response body unavailable\"}",
                new String(body(ex), StandardCharsets.UTF_8));
        assertEquals(List.of("(response body)"), ex.varsAsked(), "the plugin did not run");
    }

    @Test
    void aPluginsOwnAnswerReplacesTheUpstreamBody() throws Exception {
        TestGateway.Exchange ex = call("answer", "", 200, HOP_BY_HOP_UPSTREAM, bytes("{\"logged_in\":true}"), "POST");
        assertEquals(503, ex.respResp().status());
        assertEquals(List.of(new HttpHeader("Content-Type", "application/json")), headers(ex));
        assertEquals("{\"message\":\"session storage unavailable\"}", new String(body(ex), StandardCharsets.UTF_8),
                "the login response the client must not take for a success is not sent");
    }

    @Test
    void aFailedPluginIsA503WithABodyNotAnErrorFrame() throws Exception {
        TestGateway.Exchange ex = call("boom", "", 200, HOP_BY_HOP_UPSTREAM, bytes("{\"welcome\":1}"), "POST");
        assertEquals(503, ex.respResp().status());
        assertEquals(List.of(new HttpHeader("Content-Type", "application/json")), headers(ex));
        assertEquals("{\"message\":\"plugin failed\"}", new String(body(ex), StandardCharsets.UTF_8));
    }

    @Test
    void aReplyWithoutHeadersWouldLetApisixCopyTheUpstreamsSoItGetsOne() throws Exception {
        List<HttpHeader> sent = headers(call("noop", "", 200, List.of(new HttpHeader("Upgrade", "h2c")),
                bytes("x"), "GET"));
        assertEquals(List.of(new HttpHeader("Content-Type", "text/plain; charset=utf-8")), sent);
    }

    @Test
    void bodiesTooLargeForAFrameAreLeftToApisixWithTheirLength() throws Exception {
        long huge = 1L << 24;
        TestGateway.Exchange unfetched = call("noop", "", 200, List.of(new HttpHeader("Content-Type", "video/mp4"),
                new HttpHeader("Content-Length", Long.toString(huge))), null, "GET");
        assertEquals(List.of("request_method"), unfetched.varsAsked(), "APISIX could not send the body: not asked for");
        assertEquals(List.of(new HttpHeader("Content-Type", "video/mp4"),
                new HttpHeader("Content-Length", Long.toString(huge))), headers(unfetched));
        assertEquals(0, unfetched.respResp().bodyLength());
        // the answer to a HEAD: nothing will be printed, so a placeholder nginx drops
        TestGateway.Exchange head = call("noop", "", 200, List.of(new HttpHeader("Content-Type", "video/mp4"),
                new HttpHeader("Content-Length", Long.toString(huge))), null, "HEAD");
        assertEquals("\n", new String(body(head), StandardCharsets.UTF_8));
        assertEquals(new HttpHeader("Content-Length", Long.toString(huge)), headers(head).get(1));

        // fits an ExtraInfo answer, not a reply next to the headers: its length instead
        byte[] large = new byte[(1 << 24) - 1 - 1024];
        Arrays.fill(large, (byte) 'a');
        List<HttpHeader> many = new ArrayList<>();
        many.add(new HttpHeader("Transfer-Encoding", "chunked"));
        for (int i = 0; i < 40; i++) {
            many.add(new HttpHeader("X-Pad-" + i, "p".repeat(40)));
        }
        TestGateway.Exchange fetched = call("noop", "", 200, many, large, "GET");
        assertEquals(0, fetched.respResp().bodyLength());
        List<HttpHeader> sent = headers(fetched);
        assertEquals(new HttpHeader("Content-Length", Integer.toString(large.length)), sent.get(sent.size() - 1));
    }
}
