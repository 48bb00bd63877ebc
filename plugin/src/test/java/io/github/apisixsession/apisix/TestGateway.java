package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.ExtraInfo.Info;
import io.github.api7.A6.ExtraInfo.Var;
import io.github.api7.A6.TextEntry;
import io.github.apisixsession.core.HttpHeader;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Plays APISIX's side of one connection, for tests. */
final class TestGateway implements AutoCloseable {

    final SocketChannel channel;

    private TestGateway(SocketChannel channel) {
        this.channel = channel;
    }

    static TestGateway connect(Path socket) throws IOException {
        return new TestGateway(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    void send(int type, byte[] payload) throws IOException {
        A6Frame.write(channel, type, payload);
    }

    A6Frame read() throws IOException {
        return A6Frame.read(channel);
    }

    /**
     * Reads to the end of the stream and returns how many bytes came: 1 after a draining runner's
     * last reply (the stray byte that keeps nginx from pooling the connection), 0 after a close.
     */
    int bytesUntilEnd() throws IOException {
        java.nio.ByteBuffer rest = java.nio.ByteBuffer.allocate(64);
        int total = 0;
        int n;
        while ((n = channel.read(rest)) >= 0) {
            total += n;
            rest.clear();
        }
        return total;
    }

    static int errorCode(A6Frame frame) {
        assertEquals(A6Frame.RPC_ERROR, frame.type(), "expected an error frame");
        return io.github.api7.A6.Err.Resp.getRootAsResp(buf(frame.payload())).code();
    }

    // ---- PrepareConf ----

    static byte[] prepareConfPayload(String key, String... nameValues) {
        FlatBufferBuilder b = new FlatBufferBuilder(128);
        List<HttpHeader> entries = new ArrayList<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            entries.add(new HttpHeader(nameValues[i], nameValues[i + 1]));
        }
        int conf = io.github.api7.A6.PrepareConf.Req.createConfVector(b, entries(b, entries));
        int k = b.createString(key);
        b.finish(io.github.api7.A6.PrepareConf.Req.createReq(b, conf, k));
        return b.sizedByteArray();
    }

    /** The PrepareConf reply frame (a PrepareConf frame or an error frame). */
    A6Frame prepareConfRaw(String key, String... nameValues) throws IOException {
        send(A6Frame.RPC_PREPARE_CONF, prepareConfPayload(key, nameValues));
        return read();
    }

    long prepareConf(String key, String... nameValues) throws IOException {
        A6Frame reply = prepareConfRaw(key, nameValues);
        assertNotNull(reply, "connection closed");
        assertEquals(A6Frame.RPC_PREPARE_CONF, reply.type(), "PrepareConf reply type");
        return io.github.api7.A6.PrepareConf.Resp.getRootAsResp(buf(reply.payload())).confToken();
    }

    // ---- HTTPReqCall ----

    record Request(long id, byte[] srcIp, int method, String path, List<HttpHeader> args, List<HttpHeader> headers) {
        static Request get(String path) {
            return new Request(7, new byte[] {127, 0, 0, 1}, io.github.api7.A6.Method.GET, path, List.of(), List.of());
        }

        Request withHeaders(List<HttpHeader> h) {
            return new Request(id, srcIp, method, path, args, h);
        }

        Request withArgs(List<HttpHeader> a) {
            return new Request(id, srcIp, method, path, a, headers);
        }

        Request withSrcIp(byte[] ip) {
            return new Request(id, ip, method, path, args, headers);
        }

        Request withMethod(int m) {
            return new Request(id, srcIp, m, path, args, headers);
        }
    }

    /** What the runner sent back: the final frame plus the ExtraInfo questions it asked. */
    record Exchange(A6Frame reply, List<String> varsAsked, int bodiesAsked) {

        int errorCode() {
            return TestGateway.errorCode(reply);
        }

        io.github.api7.A6.HTTPReqCall.Resp reqResp() {
            assertEquals(A6Frame.RPC_HTTP_REQ_CALL, reply.type(), "HTTPReqCall reply type");
            return io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(buf(reply.payload()));
        }

        io.github.api7.A6.HTTPReqCall.Stop stop() {
            var resp = reqResp();
            assertEquals(io.github.api7.A6.HTTPReqCall.Action.Stop, resp.actionType(), "action");
            return (io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop());
        }

        io.github.api7.A6.HTTPReqCall.Rewrite rewrite() {
            var resp = reqResp();
            assertEquals(io.github.api7.A6.HTTPReqCall.Action.Rewrite, resp.actionType(), "action");
            return (io.github.api7.A6.HTTPReqCall.Rewrite) resp.action(new io.github.api7.A6.HTTPReqCall.Rewrite());
        }

        io.github.api7.A6.HTTPRespCall.Resp respResp() {
            assertEquals(A6Frame.RPC_HTTP_RESP_CALL, reply.type(), "HTTPRespCall reply type");
            return io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(buf(reply.payload()));
        }
    }

    static byte[] reqCallPayload(long token, Request r) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int ip = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, r.srcIp());
        int path = b.createString(r.path());
        int args = io.github.api7.A6.HTTPReqCall.Req.createArgsVector(b, entries(b, r.args()));
        int headers = io.github.api7.A6.HTTPReqCall.Req.createHeadersVector(b, entries(b, r.headers()));
        b.finish(io.github.api7.A6.HTTPReqCall.Req.createReq(b, r.id(), ip, r.method(), path, args, headers, token));
        return b.sizedByteArray();
    }

    Exchange reqCall(long token, Request r, Map<String, String> vars, byte[] body) throws IOException {
        send(A6Frame.RPC_HTTP_REQ_CALL, reqCallPayload(token, r));
        return answerUntilReply(vars, body, null);
    }

    /** An HTTPRespCall whose upstream body is empty. */
    Exchange respCall(long token, long id, int status, List<HttpHeader> headers, Map<String, String> vars)
            throws IOException {
        return respCall(token, id, status, headers, vars, new byte[0]);
    }

    /** An HTTPRespCall; {@code upstreamBody} answers ExtraInfo RespBody (null: APISIX could not read it). */
    Exchange respCall(long token, long id, int status, List<HttpHeader> headers, Map<String, String> vars,
                      byte[] upstreamBody) throws IOException {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int hv = io.github.api7.A6.HTTPRespCall.Req.createHeadersVector(b, entries(b, headers));
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, id, status, hv, token));
        send(A6Frame.RPC_HTTP_RESP_CALL, b.sizedByteArray());
        return answerUntilReply(vars, null, upstreamBody);
    }

    /** Answers ExtraInfo requests like APISIX (absent var or body: no result) until the final reply. */
    private Exchange answerUntilReply(Map<String, String> vars, byte[] body, byte[] respBody) throws IOException {
        List<String> asked = new ArrayList<>();
        int bodies = 0;
        while (true) {
            A6Frame frame = read();
            assertNotNull(frame, "connection closed before the reply");
            if (frame.type() != A6Frame.RPC_EXTRA_INFO) {
                return new Exchange(frame, asked, bodies);
            }
            var req = io.github.api7.A6.ExtraInfo.Req.getRootAsReq(buf(frame.payload()));
            byte[] result;
            if (req.infoType() == Info.Var) {
                String name = ((Var) req.info(new Var())).name();
                asked.add(name);
                String value = vars.get(name);
                result = value == null ? null : value.getBytes(StandardCharsets.UTF_8);
            } else if (req.infoType() == Info.ReqBody) {
                bodies++;
                result = body;
            } else if (req.infoType() == Info.RespBody) {
                asked.add("(response body)");
                result = respBody;
            } else {
                throw new AssertionError("unexpected ExtraInfo type " + req.infoType());
            }
            answerExtraInfo(result);
        }
    }

    /** Sends an ExtraInfo answer ({@code null}: no result). */
    void answerExtraInfo(byte[] result) throws IOException {
        FlatBufferBuilder b = new FlatBufferBuilder(64);
        int vec = result == null ? 0 : io.github.api7.A6.ExtraInfo.Resp.createResultVector(b, result);
        io.github.api7.A6.ExtraInfo.Resp.startResp(b);
        if (vec != 0) {
            io.github.api7.A6.ExtraInfo.Resp.addResult(b, vec);
        }
        b.finish(io.github.api7.A6.ExtraInfo.Resp.endResp(b));
        send(A6Frame.RPC_EXTRA_INFO, b.sizedByteArray());
    }

    // ---- helpers ----

    static ByteBuffer buf(byte[] payload) {
        return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int[] entries(FlatBufferBuilder b, List<HttpHeader> list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            int n = b.createString(list.get(i).name());
            int v = list.get(i).value() == null ? 0 : b.createString(list.get(i).value());
            TextEntry.startTextEntry(b);
            TextEntry.addName(b, n);
            if (v != 0) {
                TextEntry.addValue(b, v);
            }
            out[i] = TextEntry.endTextEntry(b);
        }
        return out;
    }

    interface EntryAt {
        TextEntry at(int i);
    }

    static List<HttpHeader> headers(int length, EntryAt at) {
        List<HttpHeader> out = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            TextEntry e = at.at(i);
            out.add(new HttpHeader(e.name(), e.value()));
        }
        return out;
    }
}
