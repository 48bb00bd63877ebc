package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.apisixsession.simulator.A6.ErrorReply;
import io.github.apisixsession.simulator.A6.ExtraInfoAnswer;
import io.github.apisixsession.simulator.A6.ExtraInfoQuery;
import io.github.apisixsession.simulator.A6.HttpReqCallRequest;
import io.github.apisixsession.simulator.A6.HttpRespCallRequest;
import io.github.apisixsession.simulator.A6.InfoKind;
import io.github.apisixsession.simulator.A6.NoAction;
import io.github.apisixsession.simulator.A6.PrepareConfReply;
import io.github.apisixsession.simulator.A6.PrepareConfRequest;
import io.github.apisixsession.simulator.A6.RespCallReply;
import io.github.apisixsession.simulator.A6.Rewrite;
import io.github.apisixsession.simulator.A6.Stop;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class A6CodecTest {
    /** Every message goes through the 4-byte framing too, as on the wire. */
    private static Frame wire(Frame f) throws Exception {
        return Frame.read(new java.io.ByteArrayInputStream(f.toBytes()));
    }

    @Test
    void prepareConfRoundTrip() throws Exception {
        PrepareConfRequest req = new PrepareConfRequest("route#r1#ext-plugin-pre-req#1",
                List.of(Entry.of("session", "{\"secret\":\"s\"}"), Entry.of("other", "")));
        assertEquals(req, A6Codec.decodePrepareConfRequest(wire(A6Codec.encode(req))));
        Frame reply = wire(A6Codec.encode(new PrepareConfReply(4294967295L)));
        assertEquals(Frame.RPC_PREPARE_CONF, reply.type());
        assertEquals(4294967295L, A6Codec.decodePrepareConfReply(reply).confToken());
    }

    @Test
    void httpReqCallRoundTripKeepsRepeatedHeadersAndBareArgs() throws Exception {
        HttpReqCallRequest req = new HttpReqCallRequest(7L << 22 | 5, new byte[] {127, 0, 0, 1},
                A6.methodCode("POST"), "/anything",
                List.of(Entry.of("session_logout", null), Entry.of("a", ""), Entry.of("a", "2")),
                List.of(Entry.of("cookie", "a=1"), Entry.of("x-dup", "1"), Entry.of("x-dup", "2")), 42);
        HttpReqCallRequest back = A6Codec.decodeHttpReqCallRequest(wire(A6Codec.encode(req)));
        assertEquals(req.id(), back.id());
        assertArrayEquals(req.srcIp(), back.srcIp());
        assertEquals(io.github.api7.A6.Method.POST, back.method());
        assertEquals("/anything", back.path());
        assertEquals(req.args(), back.args());
        assertNull(back.args().get(0).value());
        assertEquals("", back.args().get(1).value());
        assertEquals(req.headers(), back.headers());
        assertEquals(42, back.confToken());
    }

    @Test
    void stopRoundTrip() throws Exception {
        Stop stop = new Stop(9, 401, List.of(Entry.of("Content-Type", "application/json"),
                Entry.of("Set-Cookie", "a=; Max-Age=0"), Entry.of("Set-Cookie", "b=; Max-Age=0")),
                "{\"message\":\"no\"}".getBytes(StandardCharsets.UTF_8));
        Stop back = assertInstanceOf(Stop.class, A6Codec.decodeReqCallReply(wire(A6Codec.encode(stop))));
        assertEquals(9, back.id());
        assertEquals(401, back.status());
        assertEquals(stop.headers(), back.headers());
        assertEquals("{\"message\":\"no\"}", back.bodyAsString());
    }

    @Test
    void rewriteRoundTripKeepsDeletions() throws Exception {
        Rewrite rw = new Rewrite(3, "/new", List.of(Entry.of("X-Consumer-Username", "fiona"),
                Entry.of("X-Forged", null)), List.of(Entry.of("gone", null), Entry.of("k", "v")),
                List.of(Entry.of("Set-Cookie", "session=abc; Path=/"), Entry.of("Set-Cookie", "session2=def")));
        Rewrite back = assertInstanceOf(Rewrite.class, A6Codec.decodeReqCallReply(wire(A6Codec.encode(rw))));
        assertEquals(rw, back);
        assertNull(back.headers().get(1).value());
        Rewrite noPath = new Rewrite(4, null, List.of(), List.of(), List.of());
        assertNull(((Rewrite) A6Codec.decodeReqCallReply(A6Codec.encode(noPath))).path());
        assertInstanceOf(NoAction.class, A6Codec.decodeReqCallReply(A6Codec.encode(new NoAction(5))));
    }

    @Test
    void respCallRoundTrip() throws Exception {
        HttpRespCallRequest req = new HttpRespCallRequest(11, 201,
                List.of(Entry.of("Set-Cookie", "up1=u1"), Entry.of("Set-Cookie", "up2=u2")), 8);
        assertEquals(req, A6Codec.decodeHttpRespCallRequest(wire(A6Codec.encode(req))));
        RespCallReply reply = new RespCallReply(11, 0, List.of(Entry.of("X-A", "1")), "body".getBytes());
        RespCallReply back = A6Codec.decodeRespCallReply(wire(A6Codec.encode(reply)));
        assertEquals(0, back.status());
        assertEquals(reply.headers(), back.headers());
        assertEquals("body", back.bodyAsString());
        RespCallReply empty = A6Codec.decodeRespCallReply(A6Codec.encode(new RespCallReply(1, 0, List.of(), null)));
        assertEquals(0, empty.body().length);
        assertEquals(List.of(), empty.headers());
    }

    @Test
    void extraInfoQueriesAndAnswers() throws Exception {
        assertEquals(ExtraInfoQuery.var("consumer_name"),
                A6Codec.decodeExtraInfoQuery(wire(A6Codec.encode(ExtraInfoQuery.var("consumer_name")))));
        assertEquals(InfoKind.REQ_BODY, A6Codec.decodeExtraInfoQuery(A6Codec.encode(ExtraInfoQuery.reqBody())).kind());
        assertEquals(InfoKind.RESP_BODY, A6Codec.decodeExtraInfoQuery(A6Codec.encode(ExtraInfoQuery.respBody())).kind());

        ExtraInfoAnswer value = A6Codec.decodeExtraInfoAnswer(wire(A6Codec.encode(new ExtraInfoAnswer("fiona".getBytes()))));
        assertEquals("fiona", value.resultAsString());
        // nil var: the result field is absent, which a runner reads as ""
        ExtraInfoAnswer nil = A6Codec.decodeExtraInfoAnswer(A6Codec.encode(new ExtraInfoAnswer(null)));
        assertEquals("", nil.resultAsString());
    }

    @Test
    void errorFramesCarryTheCode() throws Exception {
        for (int code : new int[] {A6.ERR_BAD_REQUEST, A6.ERR_SERVICE_UNAVAILABLE, A6.ERR_CONF_TOKEN_NOT_FOUND}) {
            Frame f = wire(A6Codec.encode(new ErrorReply(code)));
            assertEquals(Frame.RPC_ERROR, f.type());
            assertEquals(code, A6Codec.decodeError(f).code());
        }
        assertEquals("conf token not found", SimulatedApisix.errToMsg(A6.ERR_CONF_TOKEN_NOT_FOUND));
    }

    @Test
    void decodingTheWrongTypeFails() {
        Frame prepare = A6Codec.encode(new PrepareConfReply(1));
        assertThrows(ProtocolException.class, () -> A6Codec.decodeReqCallReply(prepare));
        assertThrows(ProtocolException.class, () -> A6Codec.decodeError(prepare));
    }

    @Test
    void methodCodesFollowTheA6Enum() {
        assertEquals(io.github.api7.A6.Method.GET, A6.methodCode("get"));
        assertEquals(io.github.api7.A6.Method.DELETE, A6.methodCode("DELETE"));
        assertNull(A6.methodCode("BREW"));
    }
}
