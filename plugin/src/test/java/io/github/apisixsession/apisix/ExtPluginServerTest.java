package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import io.github.api7.A6.Err.Code;
import io.github.api7.A6.HTTPReqCall.Action;
import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.ResponseDecision;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ExtPluginServerTest {

    @TempDir
    Path dir;

    private ExtPluginServer server;
    private final AtomicLong nanos = new AtomicLong();
    private final Ticker ticker = nanos::get;

    /** Records what the engine would see of a request. */
    private final AtomicReference<Map<String, Object>> seen = new AtomicReference<>();

    private final TestPlugin recorder = TestPlugin.onRequest("record", (config, r) -> {
        Map<String, Object> m = new ConcurrentHashMap<>();
        m.put("method", r.method());
        m.put("path", r.path());
        m.put("multi", r.headers("X-MULTI"));
        m.put("utf", r.headers("x-utf"));
        m.put("absent", r.headers("x-absent"));
        m.put("all", r.allHeaders());
        m.put("a", r.queryArgs("a"));
        m.put("flag", r.queryArgs("flag"));
        m.put("addr", r.remoteAddress());
        seen.set(m);
        return RequestDecision.PROCEED;
    });

    /** Echoes the variables named in its config (comma separated) into request headers x-var-NAME. */
    private final TestPlugin echo = TestPlugin.onRequest("echo", (config, r) -> {
        List<HttpHeader> headers = new ArrayList<>();
        for (String name : config.split(",")) {
            headers.add(new HttpHeader("x-var-" + name, r.variable(name)));
            r.variable(name); // cached: asked once
        }
        return new RequestDecision.Proceed(headers, List.of());
    });

    private final TestPlugin body = TestPlugin.onRequest("body", (config, r) -> {
        byte[] first = r.body();
        byte[] second = r.body();
        return new RequestDecision.Proceed(List.of(
                new HttpHeader("x-body", new String(first, StandardCharsets.UTF_8)),
                new HttpHeader("x-body-again", String.valueOf(second.length))), List.of());
    });

    private final TestPlugin deny = TestPlugin.onRequest("deny", (config, r) -> new RequestDecision.Respond(
            Integer.parseInt(config),
            List.of(new HttpHeader("Set-Cookie", "a=1; Path=/"), new HttpHeader("Set-Cookie", "b=2"),
                    new HttpHeader("Content-Type", "text/plain")),
            "bye".getBytes(StandardCharsets.UTF_8)));

    private final TestPlugin cookies = TestPlugin.onRequest("cookies", (config, r) -> new RequestDecision.Proceed(
            List.of(new HttpHeader("X-User", "alice"), HttpHeader.remove("X-Forged")),
            List.of(new HttpHeader("Set-Cookie", "s1=x; HttpOnly"), new HttpHeader("Set-Cookie", "s2=y"))));

    private final TestPlugin boom = new TestPlugin("boom", value -> {
        if (value.equals("bad")) {
            throw new ConfigException("storage.url", "must be a URL");
        }
        return value;
    }, (config, r) -> {
        throw new IllegalStateException("kaputt");
    }, (config, r) -> {
        throw new IllegalStateException("kaputt");
    });

    private final TestPlugin sleepy = TestPlugin.onRequest("sleepy", (config, r) -> {
        if (!r.headers("x-sleep").isEmpty()) {
            SLEEP_STARTED.countDown();
            Thread.sleep(Long.parseLong(r.headers("x-sleep").get(0)));
        }
        return RequestDecision.PROCEED;
    });

    private static CountDownLatch SLEEP_STARTED = new CountDownLatch(1);

    private final TestPlugin respSet = TestPlugin.onResponse("resp-set", (config, r) -> config.equals("none")
            ? null
            : new ResponseDecision(201, List.of(new HttpHeader("Set-Cookie", "c=" + r.variable("request_id")),
                    new HttpHeader("Content-Type", "application/json"))));

    private List<ExtPlugin<?>> plugins() {
        return List.of(recorder, echo, body, deny, cookies, boom, sleepy, respSet, new NoopPlugin());
    }

    private Path socket() {
        return dir.resolve("a6.sock");
    }

    private ExtPluginServer start(HostSettings settings) throws IOException {
        server = ExtPluginServer.start(settings, plugins());
        return server;
    }

    private ExtPluginServer start() throws IOException {
        return start(HostSettings.of(socket()).withTicker(ticker));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.shutdown(Duration.ofSeconds(1));
        }
    }

    @Test
    void prepareConfHandsOutDistinctNonZeroTokens() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long t1 = gw.prepareConf("route#1#ext-plugin-pre-req#1", "noop", "{}");
            long t2 = gw.prepareConf("route#2#ext-plugin-pre-req#1", "noop", "{}");
            assertNotEquals(0, t1);
            assertNotEquals(0, t2);
            assertNotEquals(t1, t2);
        }
    }

    @Test
    void identicalPrepareConfReusesParsedConfigButGetsValidToken() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long t1 = gw.prepareConf("k", "echo", "request_id");
            long t2 = gw.prepareConf("k", "echo", "request_id");
            assertNotEquals(t1, t2);
            assertEquals(1, echo.prepares.get());
            var ex = gw.reqCall(t2, TestGateway.Request.get("/"), Map.of("request_id", "r1"), null);
            assertEquals("r1", TestGateway.headers(ex.rewrite().headersLength(), i -> ex.rewrite().headers(i)).get(0).value());
        }
    }

    @Test
    void noChangeRepliesWithoutAction() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "noop", "");
            var ex = gw.reqCall(token, TestGateway.Request.get("/x"), Map.of(), null);
            assertEquals(7, ex.reqResp().id());
            assertEquals(Action.NONE, ex.reqResp().actionType());
        }
    }

    @Test
    void noopWithVarsFetchesThemAndStillChangesNothing() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "noop", "{\"vars\": [\"consumer_name\", \"request_id\"]}");
            var ex = gw.reqCall(token, TestGateway.Request.get("/x"), Map.of("consumer_name", "anon"), null);
            assertEquals(List.of("consumer_name", "request_id"), ex.varsAsked());
            assertEquals(Action.NONE, ex.reqResp().actionType());
            long plain = gw.prepareConf("k2", "noop", "not json");
            assertEquals(List.of(), gw.reqCall(plain, TestGateway.Request.get("/x"), Map.of(), null).varsAsked());
        }
    }

    @Test
    void requestViewKeepsRepeatedHeadersUtf8AndLooksUpCaseInsensitively() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "record", "");
            List<HttpHeader> headers = List.of(new HttpHeader("x-multi", "v1"), new HttpHeader("host", "h"),
                    new HttpHeader("X-Multi", "v2"), new HttpHeader("x-utf", "héllo ✓ 日本"));
            List<HttpHeader> args = List.of(new HttpHeader("a", "1"), new HttpHeader("flag", null),
                    new HttpHeader("a", "2"));
            var ex = gw.reqCall(token, TestGateway.Request.get("/p/q").withHeaders(headers).withArgs(args)
                    .withMethod(io.github.api7.A6.Method.PATCH), Map.of(), null);
            assertEquals(Action.NONE, ex.reqResp().actionType());
            Map<String, Object> m = seen.get();
            assertEquals("PATCH", m.get("method"));
            assertEquals("/p/q", m.get("path"));
            assertEquals(List.of("v1", "v2"), m.get("multi"));
            assertEquals(List.of("héllo ✓ 日本"), m.get("utf"));
            assertEquals(List.of(), m.get("absent"));
            assertEquals(headers, m.get("all"));
            assertEquals(List.of("1", "2"), m.get("a"));
            assertEquals(List.of(""), m.get("flag"));
            assertEquals("127.0.0.1", m.get("addr"));
        }
    }

    @Test
    void remoteAddressForIpv6AndUnknown() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "record", "");
            byte[] v6 = new byte[16];
            v6[0] = 0x20;
            v6[1] = 0x01;
            v6[2] = 0x0d;
            v6[3] = (byte) 0xb8;
            v6[15] = 1;
            gw.reqCall(token, TestGateway.Request.get("/").withSrcIp(v6), Map.of(), null);
            // nginx prints $remote_addr for these bytes as 2001:db8::1 (nginx-remote-addr.jsonl)
            assertEquals("2001:db8::1", seen.get().get("addr"));
            gw.reqCall(token, TestGateway.Request.get("/").withSrcIp(new byte[0]), Map.of(), null);
            assertEquals("", seen.get().get("addr"));
        }
    }

    @Test
    void variablesAreFetchedThroughExtraInfoOnceEach() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "echo", "consumer_name,request_id,missing");
            var ex = gw.reqCall(token, TestGateway.Request.get("/"),
                    Map.of("consumer_name", "fiona", "request_id", "abc"), null);
            assertEquals(List.of("consumer_name", "request_id", "missing"), ex.varsAsked());
            var rw = ex.rewrite();
            assertEquals(List.of(new HttpHeader("x-var-consumer_name", "fiona"), new HttpHeader("x-var-request_id", "abc"),
                    new HttpHeader("x-var-missing", "")), TestGateway.headers(rw.headersLength(), rw::headers));
            assertNull(rw.path(), "path must stay unset");
            assertEquals(0, rw.argsLength());
            assertEquals(0, rw.respHeadersLength());
        }
    }

    @Test
    void requestBodyIsFetchedOnce() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "body", "");
            var ex = gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), "{\"u\":1}".getBytes(StandardCharsets.UTF_8));
            assertEquals(1, ex.bodiesAsked());
            var rw = ex.rewrite();
            assertEquals(List.of(new HttpHeader("x-body", "{\"u\":1}"), new HttpHeader("x-body-again", "7")),
                    TestGateway.headers(rw.headersLength(), rw::headers));
            var none = gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null);
            assertEquals("0", TestGateway.headers(none.rewrite().headersLength(), none.rewrite()::headers).get(1).value());
        }
    }

    @Test
    void respondBecomesStopAndEndsTheChain() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "deny", "401", "boom", "");
            var ex = gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null);
            var stop = ex.stop();
            assertEquals(401, stop.status());
            assertEquals(List.of(new HttpHeader("Set-Cookie", "a=1; Path=/"), new HttpHeader("Set-Cookie", "b=2"),
                    new HttpHeader("Content-Type", "text/plain")), TestGateway.headers(stop.headersLength(), stop::headers));
            byte[] b = new byte[stop.bodyLength()];
            stop.bodyAsByteBuffer().get(b);
            assertEquals("bye", new String(b, StandardCharsets.UTF_8));
        }
    }

    @Test
    void proceedsMergeIntoRewriteWithRemovalAndRepeatedRespHeaders() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "echo", "request_id", "noop", "", "cookies", "");
            var ex = gw.reqCall(token, TestGateway.Request.get("/"), Map.of("request_id", "r"), null);
            var rw = ex.rewrite();
            List<HttpHeader> headers = TestGateway.headers(rw.headersLength(), rw::headers);
            assertEquals(List.of(new HttpHeader("x-var-request_id", "r"), new HttpHeader("X-User", "alice"),
                    new HttpHeader("X-Forged", null)), headers);
            assertNull(rw.headers(2).value(), "a removal is a TextEntry without value");
            assertEquals(List.of(new HttpHeader("Set-Cookie", "s1=x; HttpOnly"), new HttpHeader("Set-Cookie", "s2=y")),
                    TestGateway.headers(rw.respHeadersLength(), rw::respHeaders));
            assertNull(rw.path());
            assertEquals(0, rw.argsLength());
        }
    }

    @Test
    void unknownTokenIsConfTokenNotFound() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            var ex = gw.reqCall(4242, TestGateway.Request.get("/"), Map.of(), null);
            assertEquals(Code.CONF_TOKEN_NOT_FOUND, ex.errorCode());
            var resp = gw.respCall(4242, 1, 200, List.of(), Map.of());
            assertEquals(Code.CONF_TOKEN_NOT_FOUND, resp.errorCode());
            // connection still usable
            long token = gw.prepareConf("k", "noop", "");
            assertEquals(Action.NONE, gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
        }
    }

    @Test
    void confExpiresAfterExpiryPlusGrace() throws Exception {
        start(HostSettings.of(socket()).withTicker(ticker).withConfExpiry(Duration.ofSeconds(10), Duration.ofSeconds(2)));
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "noop", "");
            nanos.addAndGet(Duration.ofSeconds(11).toNanos());
            assertEquals(Action.NONE, gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
            nanos.addAndGet(Duration.ofMillis(1500).toNanos());
            assertEquals(Code.CONF_TOKEN_NOT_FOUND, gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).errorCode());
            // APISIX re-sends PrepareConf and retries
            long fresh = gw.prepareConf("k", "noop", "");
            assertNotEquals(token, fresh);
            assertEquals(Action.NONE, gw.reqCall(fresh, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
        }
    }

    @Test
    void confCacheIsBounded() throws Exception {
        start(HostSettings.of(socket()).withTicker(ticker).withConfCapacity(2));
        try (TestGateway gw = TestGateway.connect(socket())) {
            List<Long> tokens = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                tokens.add(gw.prepareConf("k" + i, "noop", ""));
            }
            int found = 0;
            for (long t : tokens) {
                var reply = gw.reqCall(t, TestGateway.Request.get("/"), Map.of(), null).reply();
                if (reply.type() == A6Frame.RPC_HTTP_REQ_CALL) {
                    found++;
                }
            }
            assertTrue(found <= 3, "at most about capacity tokens kept, got " + found);
            assertTrue(found >= 1, "the newest tokens are kept");
        }
    }

    @Test
    void unknownPluginAndConfigExceptionAreBadRequest() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            assertEquals(Code.BAD_REQUEST, TestGateway.errorCode(gw.prepareConfRaw("k", "noop", "", "nope", "{}")));
            assertEquals(Code.BAD_REQUEST, TestGateway.errorCode(gw.prepareConfRaw("k", "boom", "bad")));
            // the connection stays usable after a refused conf
            assertTrue(gw.prepareConf("k", "boom", "good") > 0);
        }
    }

    @Test
    void pluginExceptionIsServiceUnavailableAndConnectionStaysUsable() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "boom", "");
            assertEquals(Code.SERVICE_UNAVAILABLE, gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).errorCode());
            // post-resp: a 503 reply with a body, not an error frame (RespCallRepliesTest)
            assertEquals(503, gw.respCall(token, 3, 200, List.of(), Map.of()).respResp().status());
            long ok = gw.prepareConf("k2", "noop", "");
            assertEquals(Action.NONE, gw.reqCall(ok, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
        }
    }

    @Test
    void malformedFramesCloseOnlyThatConnection() throws Exception {
        start();
        try (TestGateway other = TestGateway.connect(socket())) {
            long token = other.prepareConf("k", "noop", "");
            try (TestGateway bad = TestGateway.connect(socket())) {
                bad.send(9, new byte[] {1, 2, 3});
                assertEquals(Code.BAD_REQUEST, TestGateway.errorCode(bad.read()));
                assertNull(bad.read(), "connection closed after a bad frame");
            }
            try (TestGateway bad = TestGateway.connect(socket())) {
                bad.send(A6Frame.RPC_HTTP_REQ_CALL, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 1, 2, 3, 4, 5});
                assertEquals(Code.BAD_REQUEST, TestGateway.errorCode(bad.read()));
                assertNull(bad.read(), "connection closed after a bad flatbuffer");
            }
            try (TestGateway bad = TestGateway.connect(socket())) {
                bad.send(A6Frame.RPC_PREPARE_CONF, new byte[0]);
                assertEquals(Code.BAD_REQUEST, TestGateway.errorCode(bad.read()));
            }
            try (TestGateway truncated = TestGateway.connect(socket())) {
                truncated.channel.write(java.nio.ByteBuffer.wrap(new byte[] {2, 0, 0, 100, 1, 2}));
                truncated.channel.shutdownOutput();
                assertNull(truncated.read(), "a truncated frame closes the connection");
            }
            assertEquals(Action.NONE, other.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
            try (TestGateway fresh = TestGateway.connect(socket())) {
                long another = fresh.prepareConf("k", "noop", "");
                assertTrue(another > 0 && another != token);
            }
        }
    }

    @Test
    void respCallReEmitsEveryUpstreamHeaderWhenNoPluginHasAnOpinion() throws Exception {
        start();
        List<HttpHeader> upstream = List.of(new HttpHeader("Content-Type", "application/json"),
                new HttpHeader("Set-Cookie", "up1=u1; Path=/"), new HttpHeader("X-Up", "upstream-value"),
                new HttpHeader("Set-Cookie", "up2=u2"), new HttpHeader("Transfer-Encoding", "chunked"));
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "noop", "", "resp-set", "none");
            var ex = gw.respCall(token, 77, 404, upstream, Map.of(), "{\"a\":1}".getBytes(StandardCharsets.UTF_8));
            var resp = ex.respResp();
            assertEquals(77, resp.id());
            assertEquals(0, resp.status(), "0 keeps the upstream status");
            // framing headers are nginx's to write (RespCallRepliesTest)
            assertEquals(List.of(new HttpHeader("Content-Type", "application/json"),
                    new HttpHeader("Set-Cookie", "up1=u1; Path=/"), new HttpHeader("X-Up", "upstream-value"),
                    new HttpHeader("Set-Cookie", "up2=u2")),
                    TestGateway.headers(resp.headersLength(), resp::headers));
            assertEquals("{\"a\":1}", StandardCharsets.UTF_8.decode(resp.bodyAsByteBuffer()).toString(),
                    "the upstream body, so that APISIX answers with it");
        }
    }

    @Test
    void respCallLastDecisionWins() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "resp-set", "set", "resp-set", "none");
            var ex = gw.respCall(token, 5, 200, List.of(new HttpHeader("X-Up", "u")), Map.of("request_id", "rid"),
                    "up".getBytes(StandardCharsets.UTF_8));
            assertEquals(List.of("(response body)", "request_id"), ex.varsAsked());
            var resp = ex.respResp();
            assertEquals(201, resp.status());
            assertEquals(List.of(new HttpHeader("Set-Cookie", "c=rid"), new HttpHeader("Content-Type", "application/json")),
                    TestGateway.headers(resp.headersLength(), resp::headers));
        }
    }

    /**
     * One connection's plugin blocks until the other 31 connections have all had 5 answers each:
     * that can only happen if a blocked connection delays nobody (one thread per connection). A
     * server that served connections one after another would never release it, and the wait for
     * the others would time out.
     */
    @Test
    void blockedConnectionDoesNotDelayTheOthers() throws Exception {
        CountDownLatch othersDone = new CountDownLatch(31);
        CountDownLatch blockedStarted = new CountDownLatch(1);
        TestPlugin blocking = TestPlugin.onRequest("blocking", (config, r) -> {
            blockedStarted.countDown();
            if (!othersDone.await(60, TimeUnit.SECONDS)) { // longer than the others are waited for below
                throw new IllegalStateException("the other connections never finished");
            }
            return RequestDecision.PROCEED;
        });
        server = ExtPluginServer.start(HostSettings.of(socket()), List.of(blocking, new NoopPlugin()));
        long blockedToken;
        long token;
        try (TestGateway gw = TestGateway.connect(socket())) {
            blockedToken = gw.prepareConf("k", "blocking", "");
            token = gw.prepareConf("k2", "noop", "");
        }
        ExecutorService pool = Executors.newFixedThreadPool(32);
        try {
            Future<Byte> blocked = pool.submit(() -> {
                try (TestGateway gw = TestGateway.connect(socket())) {
                    return gw.reqCall(blockedToken, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType();
                }
            });
            assertTrue(blockedStarted.await(10, TimeUnit.SECONDS), "the blocking plugin runs");
            List<Future<?>> others = new ArrayList<>();
            for (int i = 0; i < 31; i++) {
                others.add(pool.submit(() -> {
                    try (TestGateway gw = TestGateway.connect(socket())) {
                        for (int n = 0; n < 5; n++) {
                            assertEquals(Action.NONE,
                                    gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
                        }
                    }
                    othersDone.countDown();
                    return null;
                }));
            }
            for (Future<?> f : others) {
                f.get(20, TimeUnit.SECONDS);
            }
            assertEquals(Action.NONE, (byte) blocked.get(20, TimeUnit.SECONDS),
                    "the blocked RPC is answered once the others released it");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void gracefulShutdownFinishesInFlightRpcClosesPluginsAndDeletesSocket() throws Exception {
        SLEEP_STARTED = new CountDownLatch(1);
        start();
        assertTrue(Files.exists(socket()));
        assertEquals(PosixFilePermissions.fromString("rw-rw-rw-"), Files.getPosixFilePermissions(socket()));
        TestGateway idle = TestGateway.connect(socket());
        TestGateway busy = TestGateway.connect(socket());
        long token = busy.prepareConf("k", "sleepy", "");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> inFlight = pool.submit(() -> busy.reqCall(token,
                    TestGateway.Request.get("/").withHeaders(List.of(new HttpHeader("x-sleep", "500"))), Map.of(), null)
                    .reply().type());
            assertTrue(SLEEP_STARTED.await(5, TimeUnit.SECONDS));
            server.shutdown(Duration.ofSeconds(5));
            assertEquals(A6Frame.RPC_HTTP_REQ_CALL, inFlight.get(5, TimeUnit.SECONDS), "the in-flight RPC got its reply");
            assertEquals(1, busy.bytesUntilEnd(), "then a stray byte (nginx does not pool the connection) and the end");
            assertNull(idle.read(), "idle connections are closed");
            assertFalse(Files.exists(socket()), "socket file deleted");
            assertEquals(1, sleepy.closes.get());
            assertEquals(1, echo.closes.get());
            assertThrows(IOException.class, () -> TestGateway.connect(socket()));
        } finally {
            pool.shutdownNow();
            idle.close();
            busy.close();
        }
    }

    @Test
    void staleSocketFileIsReplacedAndSocketModeApplied() throws Exception {
        start(HostSettings.of(socket()).withSocketMode(HostSettings.parseMode("0660")));
        assertEquals(PosixFilePermissions.fromString("rw-rw----"), Files.getPosixFilePermissions(socket()));
        // with takeover off, a second server on a live socket refuses to start
        assertThrows(IOException.class, () -> ExtPluginServer.start(HostSettings.of(socket())
                .withLifecycle(false, Duration.ZERO, Duration.ofSeconds(1)), List.of()));
        server.shutdown(Duration.ofSeconds(1));
        assertFalse(Files.exists(socket()));
        // create a stale socket by binding and closing a raw channel
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(socket()));
        }
        assertTrue(Files.exists(socket()), "stale socket file left behind (as after a crash)");
        server = ExtPluginServer.start(HostSettings.of(socket()), List.of(new NoopPlugin()));
        try (TestGateway gw = TestGateway.connect(socket())) {
            assertTrue(gw.prepareConf("k", "noop", "") > 0);
        }
    }

    @Test
    void refusesToReplaceARegularFile() throws Exception {
        Files.writeString(socket(), "not a socket");
        assertThrows(IOException.class, () -> ExtPluginServer.start(HostSettings.of(socket()), List.of()));
        assertEquals("not a socket", Files.readString(socket()));
    }

    @Test
    void duplicatePluginNamesAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> ExtPluginServer.start(HostSettings.of(socket()), List.of(new NoopPlugin(), new NoopPlugin())));
    }

    @Test
    void extraInfoDesyncIsAGatewayExceptionAndClosesTheConnection() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        TestPlugin careful = TestPlugin.onRequest("careful", (config, r) -> {
            try {
                r.variable("consumer_name");
            } catch (io.github.apisixsession.core.GatewayException e) {
                thrown.set(e);
                throw e;
            }
            return RequestDecision.PROCEED;
        });
        server = ExtPluginServer.start(HostSettings.of(socket()), List.of(careful, new NoopPlugin()));
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "careful", "");
            gw.send(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(token, TestGateway.Request.get("/")));
            assertEquals(A6Frame.RPC_EXTRA_INFO, gw.read().type());
            gw.send(A6Frame.RPC_HTTP_REQ_CALL, new byte[8]); // not an ExtraInfo answer
            assertNull(gw.read(), "the connection is closed, no reply is sent on a desynced stream");
            assertTrue(thrown.get() instanceof io.github.apisixsession.core.GatewayException);
        }
        try (TestGateway gw = TestGateway.connect(socket())) {
            assertTrue(gw.prepareConf("k", "noop", "") > 0, "the server still serves");
        }
    }

    @Test
    void stopStatusAndEmptyBody() throws Exception {
        start();
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "deny", "302");
            var stop = gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).stop();
            assertEquals(302, stop.status());
            assertArrayEquals("bye".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) stop.body(0), (byte) stop.body(1), (byte) stop.body(2)});
        }
    }

    /** Waits until {@code condition} holds (the server's threads finish on their own time); fails after 10 s. */
    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(10);
        }
    }

    /** Reads one frame with a deadline: the frame, null when the server closed, or a failure on timeout. */
    private static A6Frame readWithin(TestGateway gw, Duration limit) throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<A6Frame> f = ex.submit(gw::read);
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the server kept the connection open for " + limit, e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException) {
                return null; // reset: closed too
            }
            throw e;
        } finally {
            gw.channel.close();
            ex.shutdownNow();
        }
    }

    /**
     * Regression: a connection that sent a header claiming 16 MB and then a few bytes (or half a
     * header) held its thread forever. It is closed once the frame timeout passes; a connection
     * that merely sits idle between RPCs is not (idle timeout 0), and the server keeps serving.
     */
    @Test
    void aFrameNotCompletedWithinTheFrameTimeoutClosesTheConnection() throws Exception {
        start(HostSettings.of(socket()).withTimeouts(Duration.ofMillis(400), Duration.ZERO));
        try (TestGateway idle = TestGateway.connect(socket())) {
            long token = idle.prepareConf("k", "noop", "");
            long t0 = System.nanoTime(); // before the stuck frames start: they cannot be closed sooner than 0.4 s after
            TestGateway claims16Mb = TestGateway.connect(socket());
            claims16Mb.channel.write(java.nio.ByteBuffer.wrap(new byte[] {2, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 2, 3}));
            TestGateway halfHeader = TestGateway.connect(socket());
            halfHeader.channel.write(java.nio.ByteBuffer.wrap(new byte[] {1, 0}));
            assertNull(readWithin(claims16Mb, Duration.ofSeconds(5)), "closed, no reply");
            assertNull(readWithin(halfHeader, Duration.ofSeconds(5)), "closed, no reply");
            double took = (System.nanoTime() - t0) / 1e9;
            assertTrue(took >= 0.4, "not before the frame timeout: " + took);
            // the watchdog pass that closed those two saw the idle connection idle for longer than
            // the frame timeout; a third stuck frame, started now, is closed by a later pass, so by
            // then that pass is over and would have closed the idle one if the timeout applied to it
            TestGateway later = TestGateway.connect(socket());
            later.channel.write(java.nio.ByteBuffer.wrap(new byte[] {1, 0}));
            assertNull(readWithin(later, Duration.ofSeconds(5)), "closed, no reply");
            assertEquals(Action.NONE, idle.reqCall(token, TestGateway.Request.get("/"), Map.of(), null)
                    .reqResp().actionType(), "an idle connection between RPCs stays open");
            awaitTrue(() -> server.connectionCount() == 1, "the stuck connections' threads end");
        }
    }

    @Test
    void anIdleConnectionIsClosedAfterTheIdleTimeoutAndAMissingExtraInfoAnswerAfterTheFrameTimeout()
            throws Exception {
        start(HostSettings.of(socket()).withTimeouts(Duration.ofMillis(400), Duration.ofMillis(800)));
        long t0 = System.nanoTime(); // before its last RPC: it cannot be closed sooner than 0.8 s after
        TestGateway idle = TestGateway.connect(socket());
        long token = idle.prepareConf("k", "echo", "request_id");
        assertNull(readWithin(idle, Duration.ofSeconds(5)), "the idle connection is closed");
        assertTrue((System.nanoTime() - t0) / 1e9 >= 0.8, "not before the idle timeout");

        TestGateway asked = TestGateway.connect(socket());
        asked.send(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(token, TestGateway.Request.get("/")));
        assertEquals(A6Frame.RPC_EXTRA_INFO, asked.read().type(), "the plugin asks for request_id");
        assertNull(readWithin(asked, Duration.ofSeconds(5)), "no answer: closed without a reply");
        try (TestGateway fresh = TestGateway.connect(socket())) {
            assertTrue(fresh.prepareConf("k", "noop", "") > 0, "the server still serves");
        }
    }

    @Test
    void timeoutsComeFromTheEnvironment() {
        HostSettings d = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x.sock"));
        assertEquals(Duration.ofSeconds(60), d.frameTimeout());
        assertEquals(Duration.ofSeconds(600), d.idleTimeout());
        HostSettings s = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x.sock",
                "SESSION_RUNNER_FRAME_TIMEOUT", "2", "SESSION_RUNNER_IDLE_TIMEOUT", "0"));
        assertEquals(Duration.ofSeconds(2), s.frameTimeout());
        assertEquals(Duration.ZERO, s.idleTimeout());
        assertThrows(IllegalArgumentException.class, () -> HostSettings.fromEnv(Map.of(
                "APISIX_LISTEN_ADDRESS", "unix:/tmp/x.sock", "SESSION_RUNNER_FRAME_TIMEOUT", "0")));
    }
}
