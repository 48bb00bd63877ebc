package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.A6.ErrorReply;
import io.github.apisixsession.simulator.A6.ExtraInfoQuery;
import io.github.apisixsession.simulator.A6.RespCallReply;
import io.github.apisixsession.simulator.A6.Rewrite;
import io.github.apisixsession.simulator.A6.Stop;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The simulated gateway against an in-process fake runner. */
class SimulatedApisixTest {
    private Path dir;
    private FakeRunner runner;
    private SimulatedApisix apisix;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "simtest-");
        runner = new FakeRunner(dir);
        apisix = new SimulatedApisix(runner.socket)
                .consumer(Consumer.of("fiona", "open_sesame").withCredentialId("cred-1"))
                .consumer("anon", "unused-anon-key");
    }

    @AfterEach
    void tearDown() throws Exception {
        apisix.close();
        runner.close();
        Files.deleteIfExists(dir);
    }

    private static ExtPluginConf session() {
        return ExtPluginConf.of("session", "{}");
    }

    @Test
    void phasesRunInApisixOrderWithVarsAndPerConsumerConfs() {
        Map<String, String> seen = new ConcurrentHashMap<>();
        runner.reqHandler = (req, conf, io) -> {
            String consumer = io.var("consumer_name");
            String rid = io.var("request_id");
            String header = null;
            for (Entry h : req.headers()) {
                if (h.name().equals("x-consumer-username")) {
                    header = h.value();
                }
                assertEquals(h.name().toLowerCase(), h.name(), "header names reach the runner lower-cased");
            }
            seen.merge("calls", consumer + "/" + header + "/" + rid + ";", String::concat);
            return new Rewrite(req.id(), null, List.of(), List.of(), List.of());
        };
        apisix.route(Route.uri("/ka").keyAuth(KeyAuth.required()).preReq(session()).postReq(session()));

        Exchange ex = apisix.send(ClientRequest.get("/ka").apikey("open_sesame"));
        assertEquals(200, ex.status());
        String[] calls = seen.get("calls").split(";");
        assertEquals(2, calls.length);
        assertEquals("/null/" + ex.requestId(), calls[0], "pre-req: before key-auth, consumer_name empty");
        assertEquals("fiona/fiona/" + ex.requestId(), calls[1], "post-req: after key-auth");
        assertEquals(List.of("route#ka#ext-plugin-pre-req#1", "route&consumer#ka&fiona#ext-plugin-post-req#1&1"),
                runner.prepareKeys);
        assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"));
        assertEquals("cred-1", ex.upstreamHeader("X-Credential-Identifier"));
        assertTrue(ex.transcriptContains("ExtraInfo Var consumer_name → \"fiona\""), ex.transcriptText());
        assertTrue(ex.transcriptContains("PrepareConf key=route#ka#ext-plugin-pre-req#1 conf=[session]"));

        // tokens are cached: no new PrepareConf for the same route and consumer
        apisix.send(ClientRequest.get("/ka").apikey("open_sesame"));
        assertEquals(2, runner.prepareKeys.size());
        assertEquals(2, apisix.prepareConfCount());
    }

    @Test
    void keyAuthRejectsOrFallsBackToTheAnonymousConsumer() {
        apisix.route(Route.uri("/strict").keyAuth(KeyAuth.required()));
        Exchange missing = apisix.send(ClientRequest.get("/strict"));
        assertEquals(401, missing.status());
        assertEquals("{\"message\":\"Missing API key in request\"}", missing.body().trim());
        assertFalse(missing.upstreamCalled());
        Exchange wrong = apisix.send(ClientRequest.get("/strict").apikey("nope"));
        assertEquals(401, wrong.status());
        assertTrue(wrong.body().contains("Invalid API key in request"));

        apisix.route(Route.uri("/anon").keyAuth(KeyAuth.withAnonymous("anon")));
        Exchange anon = apisix.send(ClientRequest.get("/anon").header("X-Consumer-Username", "mallory")
                .header("X-Credential-Identifier", "forged"));
        assertEquals(200, anon.status());
        assertEquals("anon", anon.upstreamHeader("x-consumer-username"));
        assertNull(anon.upstreamHeader("x-credential-identifier"), "anon has no credential: header removed");
    }

    @Test
    void stopEndsTheRequestBeforeTheUpstream() {
        runner.reqHandler = (req, conf, io) -> new Stop(req.id(), 0,
                List.of(Entry.of("Set-Cookie", "session=; Max-Age=0")), new byte[0]);
        apisix.route(Route.uri("/logout").preReq(session()));
        Exchange ex = apisix.send(ClientRequest.post("/logout?session_logout"));
        assertEquals(200, ex.status());
        assertFalse(ex.upstreamCalled());
        assertEquals(List.of("session=; Max-Age=0"), ex.setCookies());
        assertNull(runner.reqCalls.get(0).args().get(0).value(), "bare arg has no value");
        assertEquals("session_logout", runner.reqCalls.get(0).args().get(0).name());
    }

    @Test
    void confTokenNotFoundFlushesAndResendsPrepareConf() {
        apisix.route(Route.uri("/a").preReq(session()));
        assertEquals(200, apisix.send(ClientRequest.get("/a")).status());
        runner.forgetTokens();
        Exchange ex = apisix.send(ClientRequest.get("/a"));
        assertEquals(200, ex.status(), ex.transcriptText());
        assertTrue(ex.transcriptContains("conf token not found → refresh cache and try again"), ex.transcriptText());
        assertEquals(1, ex.transcriptCount("PrepareConf key="));
        assertEquals(2, runner.prepareKeys.size());
        assertEquals(1, apisix.tokenNotFoundCount());
    }

    @Test
    void threeTokenMissesGive503() {
        apisix.route(Route.uri("/a").preReq(session()));
        runner.reqHandler = (req, conf, io) -> new ErrorReply(A6.ERR_CONF_TOKEN_NOT_FOUND);
        Exchange ex = apisix.send(ClientRequest.get("/a"));
        assertEquals(503, ex.status());
        assertEquals(3, ex.transcriptCount("PrepareConf key="));
    }

    @Test
    void runnerErrorsGive503UnlessDegradationIsAllowed() {
        runner.prepareError = new ErrorReply(A6.ERR_BAD_REQUEST);
        apisix.route(Route.uri("/bad").preReq(session()));
        Exchange ex = apisix.send(ClientRequest.get("/bad"));
        assertEquals(503, ex.status());
        assertFalse(ex.upstreamCalled());
        assertTrue(ex.transcriptContains("Error{BAD_REQUEST}"), ex.transcriptText());

        apisix.route(Route.uri("/degrade").preReq(session().allowDegradation(true)));
        Exchange ok = apisix.send(ClientRequest.get("/degrade"));
        assertEquals(200, ok.status());
        assertTrue(ok.upstreamCalled());
    }

    @Test
    void noRunnerListeningGives503() throws Exception {
        runner.close();
        apisix.route(Route.uri("/a").preReq(session()));
        Exchange ex = apisix.send(ClientRequest.get("/a"));
        assertEquals(503, ex.status());
        assertTrue(ex.transcriptContains("failed to connect to the unix socket"));
    }

    @Test
    void postRespSeesUpstreamHeadersAndRespBody() {
        List<String> seen = new ArrayList<>();
        runner.respHandler = (req, conf, io) -> {
            req.headers().forEach(h -> seen.add(h.toString()));
            byte[] body = io.ask(ExtraInfoQuery.respBody());
            seen.add("body=" + new String(body, StandardCharsets.UTF_8));
            List<Entry> out = new ArrayList<>(req.headers());
            out.add(Entry.of("Set-Cookie", "session=new; Path=/"));
            return new RespCallReply(req.id(), 0, out, new byte[0]);
        };
        apisix.route(Route.uri("/login").preReq(session()).postResp(session())
                .upstream(r -> UpstreamResponse.json("{\"u\":1}").header("X-Session-Subject", "alice")
                        .header("Set-Cookie", "up1=u1").header("Set-Cookie", "up2=u2")));
        Exchange ex = apisix.send(ClientRequest.post("/login"));
        assertEquals(200, ex.status());
        assertTrue(seen.contains("Set-Cookie: up1=u1") && seen.contains("Set-Cookie: up2=u2"), seen.toString());
        assertTrue(seen.contains("body={\"u\":1}"));
        assertEquals(List.of("up1=u1", "up2=u2", "session=new; Path=/"), ex.setCookies());
        assertEquals("application/json", ex.header("content-type"));
        assertTrue(ex.transcriptContains("HTTPRespCall"));
    }

    @Test
    void concurrentRequestsUseSeveralConnectionsAndThePoolKeepsThem() throws Exception {
        runner.reqHandler = (req, conf, io) -> {
            String who = io.var("http_x_who");
            return new Rewrite(req.id(), null, List.of(Entry.of("X-Echo", who)), List.of(), List.of());
        };
        apisix.route(Route.uri("/c").preReq(session()));
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                String who = "client" + t;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 20; i++) {
                        Exchange ex = apisix.send(ClientRequest.get("/c").header("X-Who", who));
                        if (ex.status() != 200 || !who.equals(ex.upstreamHeader("X-Echo"))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : fs) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(apisix.pool().openedCount() <= 40, "connections are reused: " + apisix.pool().openedCount());
        assertTrue(apisix.pool().idleCount() <= 32);
        assertNotNull(apisix.cachedTokens().get("route#c#ext-plugin-pre-req#1"));
    }

    @Test
    void unknownRouteIs404() {
        assertEquals(404, apisix.send(ClientRequest.get("/nothing")).status());
    }
}
