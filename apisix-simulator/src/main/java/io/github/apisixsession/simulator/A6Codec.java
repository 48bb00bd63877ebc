package io.github.apisixsession.simulator;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.github.apisixsession.simulator.A6.ErrorReply;
import io.github.apisixsession.simulator.A6.ExtraInfoAnswer;
import io.github.apisixsession.simulator.A6.ExtraInfoQuery;
import io.github.apisixsession.simulator.A6.HttpReqCallRequest;
import io.github.apisixsession.simulator.A6.HttpRespCallRequest;
import io.github.apisixsession.simulator.A6.NoAction;
import io.github.apisixsession.simulator.A6.PrepareConfReply;
import io.github.apisixsession.simulator.A6.PrepareConfRequest;
import io.github.apisixsession.simulator.A6.ReqCallReply;
import io.github.apisixsession.simulator.A6.RespCallReply;
import io.github.apisixsession.simulator.A6.Rewrite;
import io.github.apisixsession.simulator.A6.Stop;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Flatbuffer encoding and decoding of every ext-plugin message, on the official A6 classes. The
 * APISIX side (requests out, replies in) is what the simulator uses; the runner side (requests in,
 * replies out) exists so tests can play a fake runner and check round trips.
 */
public final class A6Codec {
    private A6Codec() {
    }

    // ================= APISIX side: encode requests =================

    public static Frame encode(PrepareConfRequest req) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int key = b.createString(req.key());
        int conf = entries(b, req.conf(), n -> {
            io.github.api7.A6.PrepareConf.Req.startConfVector(b, n);
            return 0;
        });
        io.github.api7.A6.PrepareConf.Req.startReq(b);
        io.github.api7.A6.PrepareConf.Req.addKey(b, key);
        io.github.api7.A6.PrepareConf.Req.addConf(b, conf);
        b.finish(io.github.api7.A6.PrepareConf.Req.endReq(b));
        return new Frame(Frame.RPC_PREPARE_CONF, b.sizedByteArray());
    }

    public static Frame encode(HttpReqCallRequest req) {
        FlatBufferBuilder b = new FlatBufferBuilder(512);
        int path = b.createString(req.path());
        int srcIp = b.createByteVector(req.srcIp());
        int args = entries(b, req.args(), n -> {
            io.github.api7.A6.HTTPReqCall.Req.startArgsVector(b, n);
            return 0;
        });
        int headers = entries(b, req.headers(), n -> {
            io.github.api7.A6.HTTPReqCall.Req.startHeadersVector(b, n);
            return 0;
        });
        io.github.api7.A6.HTTPReqCall.Req.startReq(b);
        io.github.api7.A6.HTTPReqCall.Req.addId(b, req.id());
        io.github.api7.A6.HTTPReqCall.Req.addConfToken(b, req.confToken());
        io.github.api7.A6.HTTPReqCall.Req.addSrcIp(b, srcIp);
        io.github.api7.A6.HTTPReqCall.Req.addPath(b, path);
        io.github.api7.A6.HTTPReqCall.Req.addArgs(b, args);
        io.github.api7.A6.HTTPReqCall.Req.addHeaders(b, headers);
        io.github.api7.A6.HTTPReqCall.Req.addMethod(b, req.method());
        b.finish(io.github.api7.A6.HTTPReqCall.Req.endReq(b));
        return new Frame(Frame.RPC_HTTP_REQ_CALL, b.sizedByteArray());
    }

    public static Frame encode(HttpRespCallRequest req) {
        FlatBufferBuilder b = new FlatBufferBuilder(512);
        int headers = entries(b, req.headers(), n -> {
            io.github.api7.A6.HTTPRespCall.Req.startHeadersVector(b, n);
            return 0;
        });
        io.github.api7.A6.HTTPRespCall.Req.startReq(b);
        io.github.api7.A6.HTTPRespCall.Req.addId(b, req.id());
        io.github.api7.A6.HTTPRespCall.Req.addStatus(b, req.status());
        io.github.api7.A6.HTTPRespCall.Req.addConfToken(b, req.confToken());
        io.github.api7.A6.HTTPRespCall.Req.addHeaders(b, headers);
        b.finish(io.github.api7.A6.HTTPRespCall.Req.endReq(b));
        return new Frame(Frame.RPC_HTTP_RESP_CALL, b.sizedByteArray());
    }

    public static Frame encode(ExtraInfoAnswer answer) {
        FlatBufferBuilder b = new FlatBufferBuilder(64);
        int result = answer.result() == null ? 0 : b.createByteVector(answer.result());
        io.github.api7.A6.ExtraInfo.Resp.startResp(b);
        if (answer.result() != null) {
            io.github.api7.A6.ExtraInfo.Resp.addResult(b, result);
        }
        b.finish(io.github.api7.A6.ExtraInfo.Resp.endResp(b));
        return new Frame(Frame.RPC_EXTRA_INFO, b.sizedByteArray());
    }

    // ================= APISIX side: decode replies =================

    public static PrepareConfReply decodePrepareConfReply(Frame f) {
        expect(f, Frame.RPC_PREPARE_CONF);
        return new PrepareConfReply(
                io.github.api7.A6.PrepareConf.Resp.getRootAsResp(f.payloadBuffer()).confToken());
    }

    public static ErrorReply decodeError(Frame f) {
        expect(f, Frame.RPC_ERROR);
        if (f.payload().length == 0) {
            return new ErrorReply(-1);
        }
        return new ErrorReply(io.github.api7.A6.Err.Resp.getRootAsResp(f.payloadBuffer()).code());
    }

    public static ExtraInfoQuery decodeExtraInfoQuery(Frame f) {
        expect(f, Frame.RPC_EXTRA_INFO);
        io.github.api7.A6.ExtraInfo.Req req = io.github.api7.A6.ExtraInfo.Req.getRootAsReq(f.payloadBuffer());
        byte t = req.infoType();
        if (t == io.github.api7.A6.ExtraInfo.Info.Var) {
            io.github.api7.A6.ExtraInfo.Var v =
                    (io.github.api7.A6.ExtraInfo.Var) req.info(new io.github.api7.A6.ExtraInfo.Var());
            return ExtraInfoQuery.var(v == null ? null : v.name());
        }
        if (t == io.github.api7.A6.ExtraInfo.Info.ReqBody) {
            return ExtraInfoQuery.reqBody();
        }
        if (t == io.github.api7.A6.ExtraInfo.Info.RespBody) {
            return ExtraInfoQuery.respBody();
        }
        throw new ProtocolException("unsupported info type: " + t);
    }

    public static ReqCallReply decodeReqCallReply(Frame f) {
        expect(f, Frame.RPC_HTTP_REQ_CALL);
        io.github.api7.A6.HTTPReqCall.Resp resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(f.payloadBuffer());
        byte t = resp.actionType();
        if (t == io.github.api7.A6.HTTPReqCall.Action.Stop) {
            io.github.api7.A6.HTTPReqCall.Stop s =
                    (io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop());
            List<Entry> hs = read(s.headersLength(), s::headers);
            return new Stop(resp.id(), s.status(), hs, bytes(s.bodyAsByteBuffer()));
        }
        if (t == io.github.api7.A6.HTTPReqCall.Action.Rewrite) {
            io.github.api7.A6.HTTPReqCall.Rewrite r =
                    (io.github.api7.A6.HTTPReqCall.Rewrite) resp.action(new io.github.api7.A6.HTTPReqCall.Rewrite());
            return new Rewrite(resp.id(), r.path(), read(r.headersLength(), r::headers),
                    read(r.argsLength(), r::args), read(r.respHeadersLength(), r::respHeaders));
        }
        return new NoAction(resp.id());
    }

    public static RespCallReply decodeRespCallReply(Frame f) {
        expect(f, Frame.RPC_HTTP_RESP_CALL);
        io.github.api7.A6.HTTPRespCall.Resp r = io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(f.payloadBuffer());
        return new RespCallReply(r.id(), r.status(), read(r.headersLength(), r::headers),
                bytes(r.bodyAsByteBuffer()));
    }

    // ================= runner side (for fake runners and round-trip tests) =================

    public static PrepareConfRequest decodePrepareConfRequest(Frame f) {
        expect(f, Frame.RPC_PREPARE_CONF);
        io.github.api7.A6.PrepareConf.Req r = io.github.api7.A6.PrepareConf.Req.getRootAsReq(f.payloadBuffer());
        return new PrepareConfRequest(r.key(), read(r.confLength(), r::conf));
    }

    public static HttpReqCallRequest decodeHttpReqCallRequest(Frame f) {
        expect(f, Frame.RPC_HTTP_REQ_CALL);
        io.github.api7.A6.HTTPReqCall.Req r = io.github.api7.A6.HTTPReqCall.Req.getRootAsReq(f.payloadBuffer());
        return new HttpReqCallRequest(r.id(), bytes(r.srcIpAsByteBuffer()), r.method(), r.path(),
                read(r.argsLength(), r::args), read(r.headersLength(), r::headers), r.confToken());
    }

    public static HttpRespCallRequest decodeHttpRespCallRequest(Frame f) {
        expect(f, Frame.RPC_HTTP_RESP_CALL);
        io.github.api7.A6.HTTPRespCall.Req r = io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(f.payloadBuffer());
        return new HttpRespCallRequest(r.id(), r.status(), read(r.headersLength(), r::headers), r.confToken());
    }

    public static ExtraInfoAnswer decodeExtraInfoAnswer(Frame f) {
        expect(f, Frame.RPC_EXTRA_INFO);
        io.github.api7.A6.ExtraInfo.Resp r = io.github.api7.A6.ExtraInfo.Resp.getRootAsResp(f.payloadBuffer());
        ByteBuffer bb = r.resultAsByteBuffer();
        return new ExtraInfoAnswer(bb == null ? null : bytes(bb));
    }

    public static Frame encode(PrepareConfReply reply) {
        FlatBufferBuilder b = new FlatBufferBuilder(32);
        b.finish(io.github.api7.A6.PrepareConf.Resp.createResp(b, reply.confToken()));
        return new Frame(Frame.RPC_PREPARE_CONF, b.sizedByteArray());
    }

    public static Frame encode(ErrorReply reply) {
        FlatBufferBuilder b = new FlatBufferBuilder(32);
        b.finish(io.github.api7.A6.Err.Resp.createResp(b, reply.code()));
        return new Frame(Frame.RPC_ERROR, b.sizedByteArray());
    }

    public static Frame encode(ExtraInfoQuery q) {
        FlatBufferBuilder b = new FlatBufferBuilder(64);
        int info;
        byte type;
        switch (q.kind()) {
            case VAR: {
                int name = b.createString(q.name());
                info = io.github.api7.A6.ExtraInfo.Var.createVar(b, name);
                type = io.github.api7.A6.ExtraInfo.Info.Var;
                break;
            }
            case REQ_BODY:
                io.github.api7.A6.ExtraInfo.ReqBody.startReqBody(b);
                info = io.github.api7.A6.ExtraInfo.ReqBody.endReqBody(b);
                type = io.github.api7.A6.ExtraInfo.Info.ReqBody;
                break;
            default:
                io.github.api7.A6.ExtraInfo.RespBody.startRespBody(b);
                info = io.github.api7.A6.ExtraInfo.RespBody.endRespBody(b);
                type = io.github.api7.A6.ExtraInfo.Info.RespBody;
        }
        b.finish(io.github.api7.A6.ExtraInfo.Req.createReq(b, type, info));
        return new Frame(Frame.RPC_EXTRA_INFO, b.sizedByteArray());
    }

    public static Frame encode(ReqCallReply reply) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        byte type;
        int action;
        if (reply instanceof Stop s) {
            int hs = entries(b, s.headers(), n -> {
                io.github.api7.A6.HTTPReqCall.Stop.startHeadersVector(b, n);
                return 0;
            });
            int body = s.body().length > 0 ? b.createByteVector(s.body()) : 0;
            io.github.api7.A6.HTTPReqCall.Stop.startStop(b);
            io.github.api7.A6.HTTPReqCall.Stop.addStatus(b, s.status());
            io.github.api7.A6.HTTPReqCall.Stop.addHeaders(b, hs);
            if (body != 0) {
                io.github.api7.A6.HTTPReqCall.Stop.addBody(b, body);
            }
            action = io.github.api7.A6.HTTPReqCall.Stop.endStop(b);
            type = io.github.api7.A6.HTTPReqCall.Action.Stop;
        } else if (reply instanceof Rewrite r) {
            int path = r.path() == null ? 0 : b.createString(r.path());
            int hs = entries(b, r.headers(), n -> {
                io.github.api7.A6.HTTPReqCall.Rewrite.startHeadersVector(b, n);
                return 0;
            });
            int args = entries(b, r.args(), n -> {
                io.github.api7.A6.HTTPReqCall.Rewrite.startArgsVector(b, n);
                return 0;
            });
            int rh = entries(b, r.respHeaders(), n -> {
                io.github.api7.A6.HTTPReqCall.Rewrite.startRespHeadersVector(b, n);
                return 0;
            });
            io.github.api7.A6.HTTPReqCall.Rewrite.startRewrite(b);
            if (path != 0) {
                io.github.api7.A6.HTTPReqCall.Rewrite.addPath(b, path);
            }
            io.github.api7.A6.HTTPReqCall.Rewrite.addHeaders(b, hs);
            io.github.api7.A6.HTTPReqCall.Rewrite.addArgs(b, args);
            io.github.api7.A6.HTTPReqCall.Rewrite.addRespHeaders(b, rh);
            action = io.github.api7.A6.HTTPReqCall.Rewrite.endRewrite(b);
            type = io.github.api7.A6.HTTPReqCall.Action.Rewrite;
        } else {
            action = 0;
            type = io.github.api7.A6.HTTPReqCall.Action.NONE;
        }
        io.github.api7.A6.HTTPReqCall.Resp.startResp(b);
        io.github.api7.A6.HTTPReqCall.Resp.addId(b, reply.id());
        io.github.api7.A6.HTTPReqCall.Resp.addActionType(b, type);
        if (action != 0) {
            io.github.api7.A6.HTTPReqCall.Resp.addAction(b, action);
        }
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.endResp(b));
        return new Frame(Frame.RPC_HTTP_REQ_CALL, b.sizedByteArray());
    }

    public static Frame encode(RespCallReply reply) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int hs = entries(b, reply.headers(), n -> {
            io.github.api7.A6.HTTPRespCall.Resp.startHeadersVector(b, n);
            return 0;
        });
        int body = reply.body().length > 0 ? b.createByteVector(reply.body()) : 0;
        io.github.api7.A6.HTTPRespCall.Resp.startResp(b);
        io.github.api7.A6.HTTPRespCall.Resp.addId(b, reply.id());
        io.github.api7.A6.HTTPRespCall.Resp.addStatus(b, reply.status());
        io.github.api7.A6.HTTPRespCall.Resp.addHeaders(b, hs);
        if (body != 0) {
            io.github.api7.A6.HTTPRespCall.Resp.addBody(b, body);
        }
        b.finish(io.github.api7.A6.HTTPRespCall.Resp.endResp(b));
        return new Frame(Frame.RPC_HTTP_RESP_CALL, b.sizedByteArray());
    }

    // ================= helpers =================

    private static void expect(Frame f, int type) {
        if (f.type() != type) {
            throw new ProtocolException("unexpected type " + f.type() + " (" + Frame.typeName(f.type())
                    + "), wanted " + Frame.typeName(type));
        }
    }

    /** Builds a vector of TextEntry; {@code start} must call the right startXxxVector. */
    private static int entries(FlatBufferBuilder b, List<Entry> list, IntFunction<Integer> start) {
        int[] offs = new int[list.size()];
        for (int i = 0; i < list.size(); i++) {
            Entry e = list.get(i);
            int name = b.createString(e.name());
            int value = e.value() == null ? 0 : b.createString(e.value());
            TextEntry.startTextEntry(b);
            TextEntry.addName(b, name);
            if (e.value() != null) {
                TextEntry.addValue(b, value);
            }
            offs[i] = TextEntry.endTextEntry(b);
        }
        start.apply(offs.length);
        for (int i = offs.length - 1; i >= 0; i--) {
            b.addOffset(offs[i]);
        }
        return b.endVector();
    }

    private static List<Entry> read(int n, IntFunction<TextEntry> at) {
        List<Entry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            TextEntry t = at.apply(i);
            out.add(new Entry(t.name() == null ? "" : t.name(), t.value()));
        }
        return out;
    }

    private static byte[] bytes(ByteBuffer bb) {
        if (bb == null) {
            return new byte[0];
        }
        byte[] out = new byte[bb.remaining()];
        bb.get(out);
        return out;
    }
}
