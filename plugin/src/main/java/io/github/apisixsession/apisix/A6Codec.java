package io.github.apisixsession.apisix;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.Err.Resp;
import io.github.api7.A6.ExtraInfo.Info;
import io.github.api7.A6.ExtraInfo.Var;
import io.github.api7.A6.HTTPReqCall.Action;
import io.github.api7.A6.HTTPReqCall.Rewrite;
import io.github.api7.A6.HTTPReqCall.Stop;
import io.github.api7.A6.Method;
import io.github.api7.A6.TextEntry;
import io.github.apisixsession.core.HttpHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** Decodes APISIX's requests and encodes our replies with the official A6 flatbuffer classes. */
final class A6Codec {

    private A6Codec() {
    }

    record PrepareConfRequest(String key, List<ConfCache.Entry> entries) {
    }

    record ReqCallRequest(long id, byte[] srcIp, String method, String path, List<HttpHeader> args,
            List<HttpHeader> headers, long confToken) {
    }

    record RespCallRequest(long id, int status, List<HttpHeader> headers, long confToken) {
    }

    // ---- decoding (any failure is a MalformedRpcException) ----

    static PrepareConfRequest decodePrepareConf(byte[] payload) throws MalformedRpcException {
        try {
            ByteBuffer bb = root(payload);
            io.github.api7.A6.PrepareConf.Req req = io.github.api7.A6.PrepareConf.Req.getRootAsReq(bb);
            String key = req.key() == null ? "" : req.key();
            int n = checkedLength(req.confLength(), payload);
            List<ConfCache.Entry> entries = new ArrayList<>(n);
            TextEntry te = new TextEntry();
            ByteBuffer window = root(payload);
            for (int i = 0; i < n; i++) {
                req.conf(te, i);
                String name = text(name(te, window));
                String value = text(value(te, window));
                entries.add(new ConfCache.Entry(name == null ? "" : name, value == null ? "" : value));
            }
            return new PrepareConfRequest(key, List.copyOf(entries));
        } catch (RuntimeException e) {
            throw malformed("PrepareConf", e);
        }
    }

    static ReqCallRequest decodeReqCall(byte[] payload) throws MalformedRpcException {
        try {
            ByteBuffer bb = root(payload);
            io.github.api7.A6.HTTPReqCall.Req req = io.github.api7.A6.HTTPReqCall.Req.getRootAsReq(bb);
            int ipLength = checkedBytes(req.srcIpLength(), payload);
            byte[] ip = new byte[ipLength];
            for (int i = 0; i < ipLength; i++) {
                ip[i] = (byte) req.srcIp(i);
            }
            int m = req.method();
            String method = m >= 0 && m < Method.names.length ? Method.name(m) : "";
            String path = req.path() == null ? "" : req.path();
            List<HttpHeader> args = entries(req.argsLength(), payload, (te, i) -> req.args(te, i));
            List<HttpHeader> headers = entries(req.headersLength(), payload, (te, i) -> req.headers(te, i));
            return new ReqCallRequest(req.id(), ip, method, path, args, headers, req.confToken());
        } catch (RuntimeException e) {
            throw malformed("HTTPReqCall", e);
        }
    }

    static RespCallRequest decodeRespCall(byte[] payload) throws MalformedRpcException {
        try {
            ByteBuffer bb = root(payload);
            io.github.api7.A6.HTTPRespCall.Req req = io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(bb);
            List<HttpHeader> headers = entries(req.headersLength(), payload, (te, i) -> req.headers(te, i));
            return new RespCallRequest(req.id(), req.status(), headers, req.confToken());
        } catch (RuntimeException e) {
            throw malformed("HTTPRespCall", e);
        }
    }

    /** The result of an ExtraInfo reply; null when APISIX sent none. */
    static byte[] decodeExtraInfoResp(byte[] payload) throws MalformedRpcException {
        try {
            io.github.api7.A6.ExtraInfo.Resp resp = io.github.api7.A6.ExtraInfo.Resp.getRootAsResp(root(payload));
            ByteBuffer result = resp.resultAsByteBuffer();
            if (result == null) {
                return null;
            }
            byte[] bytes = new byte[result.remaining()];
            result.get(bytes);
            return bytes;
        } catch (RuntimeException e) {
            throw malformed("ExtraInfo", e);
        }
    }

    private interface EntryAt {
        void load(TextEntry into, int index);
    }

    /**
     * The entries as an unmodifiable list. Every name and value is read through one window onto the
     * payload ({@link #name}, {@link #value}) and copied once, into its String: {@code nameAsByteBuffer}
     * would allocate a buffer per field and {@code name()} decodes strictly (and slower).
     */
    private static List<HttpHeader> entries(int length, byte[] payload, EntryAt at) {
        int n = checkedLength(length, payload);
        if (n == 0) {
            return List.of();
        }
        HttpHeader[] list = new HttpHeader[n];
        TextEntry te = new TextEntry();
        ByteBuffer window = root(payload);
        for (int i = 0; i < n; i++) {
            at.load(te, i);
            String name = text(name(te, window));
            list[i] = new HttpHeader(name == null ? "" : name, text(value(te, window)));
        }
        return Collections.unmodifiableList(Arrays.asList(list));
    }

    /**
     * The name's bytes as {@code window} positioned on them. Where the window refuses (a negative
     * length in a malformed frame), the allocating accessor decides, so malformed frames are
     * answered exactly as before.
     */
    private static ByteBuffer name(TextEntry te, ByteBuffer window) {
        try {
            return te.nameInByteBuffer(window);
        } catch (IllegalArgumentException e) {
            return te.nameAsByteBuffer();
        }
    }

    private static ByteBuffer value(TextEntry te, ByteBuffer window) {
        try {
            return te.valueInByteBuffer(window);
        } catch (IllegalArgumentException e) {
            return te.valueAsByteBuffer();
        }
    }

    private static ByteBuffer root(byte[] payload) {
        if (payload.length < 8) {
            throw new IllegalArgumentException("payload too short for a flatbuffer: " + payload.length);
        }
        return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A vector of tables holds a 4-byte offset per element: its length cannot exceed payload/4. */
    private static int checkedLength(int length, byte[] payload) {
        if (length < 0 || length > payload.length / 4) {
            throw new IllegalArgumentException("vector length out of range: " + length);
        }
        return length;
    }

    private static int checkedBytes(int length, byte[] payload) {
        if (length < 0 || length > payload.length) {
            throw new IllegalArgumentException("byte vector length out of range: " + length);
        }
        return length;
    }

    /** Lenient UTF-8 (malformed bytes become U+FFFD) so a stray Latin-1 header never fails a call. */
    private static String text(ByteBuffer bytes) {
        if (bytes == null) {
            return null;
        }
        return new String(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining(),
                StandardCharsets.UTF_8);
    }

    private static MalformedRpcException malformed(String what, RuntimeException e) {
        return new MalformedRpcException("malformed " + what + ": " + e.getClass().getSimpleName(), e);
    }

    // ---- encoding ----

    /** A builder larger than this after a reply (a large Stop body) is not kept for the next. */
    static final int KEPT_BUILDER_CAPACITY = 64 * 1024;
    private static final ThreadLocal<FlatBufferBuilder> BUILDERS =
            ThreadLocal.withInitial(() -> new FlatBufferBuilder(1024));

    /**
     * The calling thread's builder, cleared: a connection thread encodes one reply at a time and
     * keeps its builder's buffer from one reply to the next instead of growing a new one each
     * time. The bytes do not depend on the buffer's size (a flatbuffer is laid out from its end).
     */
    private static FlatBufferBuilder builder() {
        FlatBufferBuilder b = BUILDERS.get();
        b.clear();
        return b;
    }

    private static byte[] bytes(FlatBufferBuilder b) {
        byte[] out = b.sizedByteArray();
        if (b.dataBuffer().capacity() > KEPT_BUILDER_CAPACITY) {
            BUILDERS.remove();
        }
        return out;
    }

    static byte[] error(int code) {
        FlatBufferBuilder b = builder();
        b.finish(Resp.createResp(b, code));
        return bytes(b);
    }

    static byte[] prepareConfResp(long token) {
        FlatBufferBuilder b = builder();
        b.finish(io.github.api7.A6.PrepareConf.Resp.createResp(b, token));
        return bytes(b);
    }

    /** A reply with no action: APISIX lets the request through unchanged. */
    static byte[] reqCallNone(long id) {
        FlatBufferBuilder b = builder();
        io.github.api7.A6.HTTPReqCall.Resp.startResp(b);
        io.github.api7.A6.HTTPReqCall.Resp.addId(b, id);
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.endResp(b));
        return bytes(b);
    }

    static byte[] reqCallStop(long id, int status, List<HttpHeader> headers, byte[] body) {
        FlatBufferBuilder b = builder();
        int headersVec = Stop.createHeadersVector(b, textEntries(b, headers));
        int bodyVec = body.length > 0 ? Stop.createBodyVector(b, body) : 0;
        Stop.startStop(b);
        Stop.addStatus(b, status);
        Stop.addHeaders(b, headersVec);
        if (bodyVec != 0) {
            Stop.addBody(b, bodyVec);
        }
        int stop = Stop.endStop(b);
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.createResp(b, id, Action.Stop, stop));
        return bytes(b);
    }

    /** Path and args stay unset so APISIX keeps them; a header without value is removed. */
    static byte[] reqCallRewrite(long id, List<HttpHeader> headers, List<HttpHeader> respHeaders) {
        FlatBufferBuilder b = builder();
        int headersVec = headers.isEmpty() ? 0 : Rewrite.createHeadersVector(b, textEntries(b, headers));
        int respVec = respHeaders.isEmpty() ? 0 : Rewrite.createRespHeadersVector(b, textEntries(b, respHeaders));
        Rewrite.startRewrite(b);
        if (headersVec != 0) {
            Rewrite.addHeaders(b, headersVec);
        }
        if (respVec != 0) {
            Rewrite.addRespHeaders(b, respVec);
        }
        int rewrite = Rewrite.endRewrite(b);
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.createResp(b, id, Action.Rewrite, rewrite));
        return bytes(b);
    }

    /** An empty {@code body} is left out: APISIX treats a zero-length body as none. */
    static byte[] respCallResp(long id, int status, List<HttpHeader> headers, byte[] body) {
        FlatBufferBuilder b = builder();
        int headersVec = io.github.api7.A6.HTTPRespCall.Resp.createHeadersVector(b, textEntries(b, headers));
        int bodyVec = body.length > 0 ? io.github.api7.A6.HTTPRespCall.Resp.createBodyVector(b, body) : 0;
        io.github.api7.A6.HTTPRespCall.Resp.startResp(b);
        io.github.api7.A6.HTTPRespCall.Resp.addId(b, id);
        io.github.api7.A6.HTTPRespCall.Resp.addStatus(b, status);
        io.github.api7.A6.HTTPRespCall.Resp.addHeaders(b, headersVec);
        if (bodyVec != 0) {
            io.github.api7.A6.HTTPRespCall.Resp.addBody(b, bodyVec);
        }
        b.finish(io.github.api7.A6.HTTPRespCall.Resp.endResp(b));
        return bytes(b);
    }

    static byte[] extraInfoVar(String name) {
        FlatBufferBuilder b = builder();
        int var = Var.createVar(b, b.createString(name));
        b.finish(io.github.api7.A6.ExtraInfo.Req.createReq(b, Info.Var, var));
        return bytes(b);
    }

    static byte[] extraInfoReqBody() {
        return extraInfoWithoutFields(Info.ReqBody);
    }

    static byte[] extraInfoRespBody() {
        return extraInfoWithoutFields(Info.RespBody);
    }

    /** {@code ReqBody} and {@code RespBody} are tables without fields: the type says it all. */
    private static byte[] extraInfoWithoutFields(byte infoType) {
        FlatBufferBuilder b = builder();
        b.startTable(0);
        int info = b.endTable();
        b.finish(io.github.api7.A6.ExtraInfo.Req.createReq(b, infoType, info));
        return bytes(b);
    }

    private static int[] textEntries(FlatBufferBuilder b, List<HttpHeader> headers) {
        int[] offsets = new int[headers.size()];
        for (int i = 0; i < offsets.length; i++) {
            HttpHeader h = headers.get(i);
            int name = b.createString(h.name());
            int value = h.value() == null ? 0 : b.createString(h.value());
            TextEntry.startTextEntry(b);
            TextEntry.addName(b, name);
            if (value != 0) {
                TextEntry.addValue(b, value);
            }
            offsets[i] = TextEntry.endTextEntry(b);
        }
        return offsets;
    }
}
