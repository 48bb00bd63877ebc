package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.A6.RespCallReply;
import io.github.apisixsession.simulator.A6.Rewrite;
import io.github.apisixsession.simulator.A6.Stop;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The header rules of init.lua and the real-gateway measurements, on decoded replies. */
class GatewayStateTest {
    private static UpstreamResponse upstream() {
        return UpstreamResponse.json("{}")
                .header("X-Up", "upstream-value")
                .header("Set-Cookie", "up1=u1; Path=/")
                .header("Set-Cookie", "up2=u2")
                .header("Connection", "keep-alive");
    }

    private static GatewayState state() {
        return GatewayState.of(ClientRequest.get("/x?a=1&b&a=2")
                .header("X-Consumer-Username", "mallory")
                .header("Cookie", "session=abc; other=1"));
    }

    private static Rewrite rewrite(List<Entry> headers, List<Entry> respHeaders) {
        return new Rewrite(1, null, headers, List.of(), respHeaders);
    }

    @Test
    void rewriteSetsAndDeletesRequestHeaders() {
        GatewayState s = state();
        s.applyRewrite(rewrite(List.of(Entry.of("x-consumer-username", null), Entry.of("X-Session", "yes")), List.of()));
        UpstreamRequest up = s.upstreamRequest();
        assertFalse(up.hasHeader("X-Consumer-Username"));
        assertEquals("yes", up.header("x-session"));
        s.applyRewrite(rewrite(List.of(Entry.of("X-Consumer-Username", "fiona")), List.of()));
        assertEquals(List.of("fiona"), s.upstreamRequest().headerValues("x-consumer-username"));
    }

    @Test
    void respHeadersAddCookiesAndKeepUpstreamHeaders() {
        GatewayState s = state();
        s.applyRewrite(rewrite(List.of(), List.of(Entry.of("Set-Cookie", "a_pre=1; Path=/"),
                Entry.of("Set-Cookie", "b_pre=2"), Entry.of("X-Rw-Resp", "r"),
                Entry.of("Content-Type", "text/html"), Entry.of("Location", "/elsewhere"))));
        ClientResponse r = s.proxied(upstream());
        assertEquals(200, r.status());
        assertEquals(List.of("up1=u1; Path=/", "up2=u2", "a_pre=1; Path=/", "b_pre=2"), r.setCookies());
        assertEquals("upstream-value", r.header("x-up"));
        assertEquals("r", r.header("x-rw-resp"));
        // excluded names in resp_headers are skipped: the upstream's Content-Type stays alone
        assertEquals(List.of("application/json"), r.headerValues("content-type"));
        assertNull(r.header("location"));
        // the upstream's Connection is not passed on: nginx writes its own, once
        assertEquals(List.of("keep-alive"), r.headerValues("connection"));
        assertEquals(List.of(), FramingCheck.defects(ClientRequest.get("/x"), r));
    }

    @Test
    void stopUsesStatusZeroAs200AndKeepsEarlierRespHeaders() {
        GatewayState s = state();
        s.applyRewrite(rewrite(List.of(), List.of(Entry.of("X-Pre", "kept"))));
        ClientResponse r = s.applyStop(new Stop(2, 0, List.of(Entry.of("Set-Cookie", "session=; Max-Age=0"),
                Entry.of("Set-Cookie", "session2=; Max-Age=0")), new byte[0]));
        assertEquals(200, r.status());
        assertEquals(2, r.setCookies().size());
        assertEquals("kept", r.header("x-pre"));
        assertEquals(GatewayState.DEFAULT_CONTENT_TYPE, r.header("content-type"));

        ClientResponse json = state().applyStop(new Stop(3, 401, List.of(Entry.of("Content-Type", "application/json")),
                "{\"message\":\"x\"}".getBytes()));
        assertEquals(401, json.status());
        assertEquals(List.of("application/json"), json.headerValues("Content-Type"));
        assertEquals("{\"message\":\"x\"}", json.bodyAsString());
    }

    @Test
    void postRespReplyWithHeadersReplacesAllUpstreamHeaders() {
        GatewayState s = state();
        ClientResponse r = s.applyPostResp(upstream(), new RespCallReply(1, 0,
                List.of(Entry.of("Set-Cookie", "c_resp=3")), new byte[0]));
        assertEquals(200, r.status());
        assertEquals(List.of("c_resp=3"), r.setCookies());
        assertNull(r.header("x-up"));
        assertEquals(GatewayState.DEFAULT_CONTENT_TYPE, r.header("content-type"));
        assertEquals("{}", r.bodyAsString());
    }

    @Test
    void postRespReplyCanSetContentTypeItself() {
        ClientResponse r = state().applyPostResp(upstream(), new RespCallReply(1, 0,
                List.of(Entry.of("Content-Type", "application/json"), Entry.of("X-Up", "upstream-value"),
                        Entry.of("Set-Cookie", "up1=u1; Path=/"), Entry.of("Set-Cookie", "up2=u2"),
                        Entry.of("Set-Cookie", "session=s; Path=/")), new byte[0]));
        assertEquals("application/json", r.header("Content-Type"));
        assertEquals(3, r.setCookies().size());
    }

    @Test
    void postRespReplyWithoutHeadersCopiesUpstreamMinusExcluded() {
        ClientResponse r = state().applyPostResp(upstream(), new RespCallReply(1, 0, List.of(), new byte[0]));
        assertEquals(List.of("up1=u1; Path=/", "up2=u2"), r.setCookies());
        assertEquals("upstream-value", r.header("X-Up"));
        assertEquals(GatewayState.DEFAULT_CONTENT_TYPE, r.header("content-type"), "Content-Type is lost");
        assertEquals(List.of("keep-alive"), r.headerValues("connection"), "nginx's own, once");
        assertEquals(List.of(), FramingCheck.defects(ClientRequest.get("/x"), r));
    }

    @Test
    void earlierCookiesAreLostOnAPostRespRouteButOtherRespHeadersSurvive() {
        GatewayState s = state();
        s.applyRewrite(rewrite(List.of(), List.of(Entry.of("Set-Cookie", "a_pre=1"), Entry.of("X-Rw-Resp-Pre", "r"))));
        ClientResponse r = s.applyPostResp(upstream(), new RespCallReply(1, 0,
                List.of(Entry.of("Set-Cookie", "c_resp=3")), new byte[0]));
        assertEquals(List.of("c_resp=3"), r.setCookies());
        assertEquals("r", r.header("x-rw-resp-pre"));

        GatewayState s2 = state();
        s2.applyRewrite(rewrite(List.of(), List.of(Entry.of("Set-Cookie", "a_pre=1"), Entry.of("X-Rw-Resp-Pre", "r"))));
        ClientResponse r2 = s2.applyPostResp(upstream(), new RespCallReply(1, 0, List.of(), new byte[0]));
        assertEquals(List.of("up1=u1; Path=/", "up2=u2"), r2.setCookies());
        assertEquals("r", r2.header("x-rw-resp-pre"));
    }

    @Test
    void postRespStatusAndBody() {
        ClientResponse r = state().applyPostResp(UpstreamResponse.status(201).body("up"),
                new RespCallReply(1, 0, List.of(), "new".getBytes()));
        assertEquals(201, r.status());
        assertEquals("new", r.bodyAsString());
        ClientResponse r2 = state().applyPostResp(UpstreamResponse.status(201).body("up"),
                new RespCallReply(1, 418, List.of(), new byte[0]));
        assertEquals(418, r2.status());
        assertEquals("up", r2.bodyAsString());
    }

    @Test
    void nginxFramesLuaOutputByHttpVersion() {
        ClientResponse chunked = state().exit(401, "{}".getBytes());
        assertEquals(List.of("Content-Type", "Transfer-Encoding", "Connection"),
                chunked.headers().entries().stream().map(Entry::name).toList());
        assertEquals("keep-alive", chunked.header("Connection"));

        ClientResponse buffered = GatewayState.of(ClientRequest.get("/x").http10()).exit(401, "{}".getBytes());
        assertEquals("2", buffered.header("Content-Length"), "ngx_lua buffers HTTP/1.0 output and knows its length");
        assertNull(buffered.header("Transfer-Encoding"));
        assertEquals("close", buffered.header("Connection"));

        ClientResponse noContent = state().exit(204, "x".getBytes());
        assertNull(noContent.header("Content-Type"));
        assertNull(noContent.header("Transfer-Encoding"));
        assertEquals(0, noContent.body().length);

        ClientResponse head = GatewayState.of(ClientRequest.head("/x")).exit(200, "x".getBytes());
        assertNull(head.header("Transfer-Encoding"));
        assertEquals(0, head.body().length);
    }

    @Test
    void aSecondProxiedCallKeepsTheReplyHeadersAndAppendsTheUpstreams() {
        GatewayState s = GatewayState.of(ClientRequest.post("/login").http10());
        UpstreamResponse up = UpstreamResponse.json("{}").header("X-Session-Subject", "alice").chunked();
        assertNull(s.applyPostResp(up, new RespCallReply(1, 0, List.of(Entry.of("Set-Cookie", "session=s")),
                new byte[0])), "HTTP/1.0 output without a length is buffered: nothing sent");
        ClientResponse r = s.proxiedAgain(up);
        assertEquals(List.of("session=s"), r.setCookies());
        assertEquals("alice", r.header("X-Session-Subject"));
        assertEquals(List.of("close"), r.headerValues("Connection"), "no length to an HTTP/1.0 client: close");
    }

    @Test
    void rewriteArgsAndPath() {
        GatewayState s = state();
        s.applyRewrite(new Rewrite(1, "/other", List.of(), List.of(Entry.of("b", null), Entry.of("a", "9"),
                Entry.of("a", "10"), Entry.of("c", "3")), List.of()));
        UpstreamRequest up = s.upstreamRequest();
        assertEquals("/other", up.path());
        assertEquals("/other?a=9&a=10&c=3", up.uri());
        assertNull(up.arg("b"));
    }

    @Test
    void varsComeFromTheRequest() {
        GatewayState s = state();
        assertEquals("abc", s.var("cookie_session"));
        assertEquals("1", s.var("cookie_other"));
        assertNull(s.var("cookie_missing"));
        assertEquals("mallory", s.var("http_x_consumer_username"));
        assertEquals("", s.var("arg_b"));
        assertEquals("/x", s.var("uri"));
        assertEquals("GET", s.var("request_method"));
        assertNull(s.var("consumer_name"));
        s.setVar("consumer_name", "fiona");
        assertEquals("fiona", s.var("consumer_name"));
        assertTrue(QueryArgs.parse("session_logout").get(0).value() == null);
    }
}
