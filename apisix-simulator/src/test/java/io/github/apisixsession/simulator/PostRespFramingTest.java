package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.A6.ExtraInfoQuery;
import io.github.apisixsession.simulator.A6.RespCallReply;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The simulator reproduces what a real APISIX 3.18 did on a post-resp route
 * (apisix-real-gateway.md §10): nginx's framing headers next to a reply's, and a second upstream
 * call when the reply has no body and nothing could be sent (HTTP/1.0 and a chunked upstream; an
 * empty chunked body, HEAD or 204 on any HTTP version).
 */
class PostRespFramingTest {
    private Path dir;
    private FakeRunner runner;
    private SimulatedApisix apisix;
    private final List<String> upstreamCalls = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "simframing-");
        runner = new FakeRunner(dir);
        apisix = new SimulatedApisix(runner.socket);
    }

    @AfterEach
    void tearDown() throws Exception {
        apisix.close();
        runner.close();
        Files.deleteIfExists(dir);
    }

    private void route(UpstreamResponse answer) {
        apisix.route(Route.uri("/login").postResp(ExtPluginConf.of("session", "{}")).upstream(req -> {
            upstreamCalls.add(req.method() + " " + req.uri());
            return answer;
        }));
    }

    private static UpstreamResponse login() {
        return UpstreamResponse.json("{\"welcome\":\"alice\"}").header("X-Session-Subject", "alice")
                .header("Connection", "keep-alive").header("Keep-Alive", "timeout=5");
    }

    /** What the runner replied before issue 18: every upstream header back, hop-by-hop ones included. */
    private void echoEveryUpstreamHeader() {
        runner.respHandler = (req, conf, io) -> new RespCallReply(req.id(), 0, req.headers(), new byte[0]);
    }

    /** The dispatcher's old no-opinion reply: upstream headers minus hop-by-hop, Content-Length kept. */
    private void echoMinusHopByHop() {
        Set<String> hop = Set.of("connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade");
        runner.respHandler = (req, conf, io) -> new RespCallReply(req.id(), 0,
                req.headers().stream().filter(h -> !hop.contains(h.name().toLowerCase(Locale.ROOT))).toList(),
                new byte[0]);
    }

    /** Headers without framing ones, plus the body fetched with ExtraInfo RespBody. */
    private void replyWithTheBody() {
        Set<String> framing = Set.of("connection", "keep-alive", "transfer-encoding", "content-length");
        runner.respHandler = (req, conf, io) -> {
            byte[] body = io.ask(ExtraInfoQuery.respBody());
            return new RespCallReply(req.id(), 0, req.headers().stream()
                    .filter(h -> !framing.contains(h.name().toLowerCase(Locale.ROOT))
                            && !h.name().equalsIgnoreCase("x-session-subject")).toList(), body);
        };
    }

    @Test
    void hopByHopHeadersOfTheReplyAreSentNextToNginxsOwn() {
        echoEveryUpstreamHeader();
        route(login().chunked());
        Exchange ex = apisix.send(ClientRequest.get("/login"));
        assertEquals(1, ex.upstreamCalls());
        // measured: Transfer-Encoding: chunked and Connection twice, and the upstream's Keep-Alive
        assertEquals(List.of("chunked", "chunked"), ex.response().headerValues("Transfer-Encoding"), ex.toString());
        assertEquals(List.of("keep-alive", "keep-alive"), ex.response().headerValues("Connection"));
        assertEquals("Transfer-Encoding", ex.response().headers().entries().get(1).name(), "nginx's framing first");
        assertEquals(2, ex.duplicatedFramingHeaders(), ex.framingDefects().toString());
        assertTrue(ex.framingDefects().contains("hop-by-hop keep-alive reached the client"), ex.framingDefects().toString());
    }

    @Test
    void upstreamContentLengthReEmittedNextToNginxsConnectionClose() {
        echoEveryUpstreamHeader();
        route(login());
        Exchange ex = apisix.send(ClientRequest.get("/login").http10());
        assertEquals(1, ex.upstreamCalls(), ex.toString());
        assertEquals(List.of("close", "keep-alive"), ex.response().headerValues("Connection"));
        assertEquals(List.of("19"), ex.response().headerValues("Content-Length"), "one built-in Content-Length");
        assertEquals(1, ex.duplicatedFramingHeaders(), ex.framingDefects().toString());
    }

    @Test
    void http10AndAChunkedUpstreamWithoutReplyBodyCallTheUpstreamTwiceAndLeak() {
        echoMinusHopByHop();
        route(login().chunked());
        Exchange ex = apisix.send(ClientRequest.post("/login").http10());
        assertEquals(2, ex.upstreamCalls(), ex.toString());
        assertEquals(List.of("POST /login", "POST /login"), upstreamCalls);
        assertEquals("alice", ex.header("X-Session-Subject"), "the second call's headers are appended");
        assertTrue(ex.transcriptContains("flush response failed: buffering"), ex.transcriptText());
    }

    @Test
    void http11OrAContentLengthKeepsOneCall() {
        echoMinusHopByHop();
        route(login().chunked());
        assertEquals(1, apisix.send(ClientRequest.post("/login")).upstreamCalls());
        route(login());
        Exchange ex = apisix.send(ClientRequest.post("/login").http10());
        assertEquals(1, ex.upstreamCalls(), "the reply's Content-Length lets nginx send the head at once");
        assertEquals(List.of(), ex.framingDefects());
    }

    @Test
    void nothingPrintedMeansASecondCallOnEveryHttpVersion() {
        echoMinusHopByHop();
        route(UpstreamResponse.status(200).chunked());
        assertEquals(2, apisix.send(ClientRequest.post("/login")).upstreamCalls(), "empty chunked body");
        route(UpstreamResponse.status(204));
        assertEquals(2, apisix.send(ClientRequest.post("/login")).upstreamCalls(), "204");
        route(UpstreamResponse.json("{}"));
        assertEquals(2, apisix.send(ClientRequest.head("/login")).upstreamCalls(), "HEAD");
        route(UpstreamResponse.status(200));
        assertEquals(1, apisix.send(ClientRequest.post("/login")).upstreamCalls(), "Content-Length: 0 prints \"\"");
    }

    @Test
    void anEmptyPrintSendsTheHeadEvenToAnHttp10Client() {
        echoMinusHopByHop();
        route(UpstreamResponse.status(200).closeDelimited());
        Exchange ex = apisix.send(ClientRequest.post("/login").http10());
        assertEquals(1, ex.upstreamCalls(), "measured: ngx.print(\"\") is not buffered\n" + ex);
        assertEquals(List.of("close"), ex.response().headerValues("Connection"));
        assertEquals(List.of(), ex.framingDefects());
    }

    @Test
    void http10OutputOfA204WithoutALengthIsSentAfterTheHead() {
        List<Entry> noLength = List.of(Entry.of("X-A", "1"));
        runner.respHandler = (req, conf, io) -> new RespCallReply(req.id(), 0, noLength, new byte[] {'\n'});
        route(UpstreamResponse.status(204));
        Exchange leaked = apisix.send(ClientRequest.post("/login").http10());
        assertEquals(1, leaked.upstreamCalls());
        assertEquals("\n", leaked.body(), "measured: the placeholder follows the head");
        assertTrue(leaked.framingDefects().contains("a body of 1 bytes after a head-only response"),
                leaked.framingDefects().toString());
        assertEquals("", apisix.send(ClientRequest.post("/login")).body(), "HTTP/1.1: nginx drops it");

        List<Entry> withLength = List.of(Entry.of("X-A", "1"), Entry.of("Content-Length", "0"));
        runner.respHandler = (req, conf, io) -> new RespCallReply(req.id(), 0, withLength, new byte[] {'\n'});
        Exchange clean = apisix.send(ClientRequest.post("/login").http10());
        assertEquals("", clean.body());
        assertEquals("0", clean.header("Content-Length"), "measured: a length a plugin set stays on a 204");
        assertEquals(List.of(), clean.framingDefects());
        Exchange http11 = apisix.send(ClientRequest.post("/login"));
        assertEquals(List.of("Content-Length on a 204 (RFC 9110 §8.6)"), http11.framingDefects());
    }

    @Test
    void aFailedPostRespCallPrintsTheUpstreamBodyUnder503AndHttp10CallsAgain() {
        runner.respHandler = (req, conf, io) -> new A6.ErrorReply(A6.ERR_SERVICE_UNAVAILABLE);
        route(login().chunked());
        Exchange http11 = apisix.send(ClientRequest.post("/login"));
        assertEquals(503, http11.status(), "measured: communicate returns 503 without a body");
        assertEquals("{\"welcome\":\"alice\"}", http11.body());
        assertNull(http11.header("X-Session-Subject"), "no upstream header is applied without a reply");
        assertEquals(1, http11.upstreamCalls());
        Exchange http10 = apisix.send(ClientRequest.post("/login").http10());
        assertEquals(2, http10.upstreamCalls(), "measured on the lab gateway");
        assertEquals("alice", http10.header("X-Session-Subject"));
    }

    @Test
    void aReplyBodyIsAnsweredAsItIsOnEveryHttpVersion() {
        replyWithTheBody();
        route(login().chunked());
        for (ClientRequest request : List.of(ClientRequest.post("/login"), ClientRequest.post("/login").http10())) {
            upstreamCalls.clear();
            Exchange ex = apisix.send(request);
            assertEquals(1, ex.upstreamCalls(), ex.toString());
            assertEquals("{\"welcome\":\"alice\"}", ex.body());
            assertEquals("application/json", ex.header("Content-Type"));
            assertNull(ex.header("X-Session-Subject"));
            assertEquals(List.of(), ex.framingDefects(), ex.toString());
        }
        Exchange old = apisix.send(ClientRequest.post("/login").http10());
        assertEquals(List.of("19"), old.response().headerValues("Content-Length"), "HTTP/1.0: ngx_lua buffers");
        Exchange now = apisix.send(ClientRequest.post("/login"));
        assertEquals(List.of("chunked"), now.response().headerValues("Transfer-Encoding"), "HTTP/1.1: chunked");
    }

    @Test
    void respBodyIsWhatTheBodyReaderYields() {
        List<String> bodies = new ArrayList<>();
        runner.respHandler = (req, conf, io) -> {
            bodies.add(new String(io.ask(ExtraInfoQuery.respBody()), StandardCharsets.UTF_8));
            return new RespCallReply(req.id(), 0, List.of(Entry.of("X-A", "1")), "x".getBytes(StandardCharsets.UTF_8));
        };
        route(UpstreamResponse.json("{\"a\":1}"));
        apisix.send(ClientRequest.head("/login"));
        apisix.send(ClientRequest.get("/login"));
        route(UpstreamResponse.status(304).body("ignored"));
        Exchange notModified = apisix.send(ClientRequest.get("/login"));
        assertEquals(List.of("", "{\"a\":1}", ""), bodies);
        assertEquals(304, notModified.status());
        assertEquals(0, notModified.response().body().length, "nginx sends no body with a 304");
    }
}
