package io.github.apisixsession.simulator;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The decoded ext-plugin messages, both directions, as plain records. {@link A6Codec} turns them
 * into and out of flatbuffer payloads.
 */
public final class A6 {
    private A6() {
    }

    /** Error codes of {@code Err.Resp}. */
    public static final int ERR_BAD_REQUEST = 0;
    public static final int ERR_SERVICE_UNAVAILABLE = 1;
    public static final int ERR_CONF_TOKEN_NOT_FOUND = 2;

    public static String errorName(int code) {
        switch (code) {
            case ERR_BAD_REQUEST: return "BAD_REQUEST";
            case ERR_SERVICE_UNAVAILABLE: return "SERVICE_UNAVAILABLE";
            case ERR_CONF_TOKEN_NOT_FOUND: return "CONF_TOKEN_NOT_FOUND";
            default: return "unknown err " + code;
        }
    }

    // ---- APISIX -> runner ----

    /** {@code PrepareConf.Req}. */
    public record PrepareConfRequest(String key, List<Entry> conf) {
        public PrepareConfRequest {
            conf = List.copyOf(conf);
        }
    }

    /** {@code HTTPReqCall.Req}. {@code method} is an {@code A6.Method} constant. */
    public record HttpReqCallRequest(long id, byte[] srcIp, int method, String path, List<Entry> args,
                                     List<Entry> headers, long confToken) {
        public HttpReqCallRequest {
            args = List.copyOf(args);
            headers = List.copyOf(headers);
            srcIp = srcIp == null ? new byte[0] : srcIp.clone();
        }
    }

    /** {@code HTTPRespCall.Req}. */
    public record HttpRespCallRequest(long id, int status, List<Entry> headers, long confToken) {
        public HttpRespCallRequest {
            headers = List.copyOf(headers);
        }
    }

    /** {@code ExtraInfo.Resp}: APISIX's answer to a runner's query; null result = field absent. */
    public record ExtraInfoAnswer(byte[] result) {
        public String resultAsString() {
            return result == null ? "" : new String(result, StandardCharsets.UTF_8);
        }
    }

    // ---- runner -> APISIX ----

    /** {@code PrepareConf.Resp}. */
    public record PrepareConfReply(long confToken) {
    }

    /** {@code Err.Resp}. */
    public record ErrorReply(int code) {
        @Override
        public String toString() {
            return "Error{" + errorName(code) + "}";
        }
    }

    /** What a runner asks for in an {@code ExtraInfo.Req}. */
    public enum InfoKind { VAR, REQ_BODY, RESP_BODY }

    /** {@code ExtraInfo.Req}; {@code name} only for {@link InfoKind#VAR}. */
    public record ExtraInfoQuery(InfoKind kind, String name) {
        public static ExtraInfoQuery var(String name) {
            return new ExtraInfoQuery(InfoKind.VAR, name);
        }

        public static ExtraInfoQuery reqBody() {
            return new ExtraInfoQuery(InfoKind.REQ_BODY, null);
        }

        public static ExtraInfoQuery respBody() {
            return new ExtraInfoQuery(InfoKind.RESP_BODY, null);
        }

        @Override
        public String toString() {
            switch (kind) {
                case VAR: return "Var " + name;
                case REQ_BODY: return "ReqBody";
                default: return "RespBody";
            }
        }
    }

    /** {@code HTTPReqCall.Resp}: one of Stop, Rewrite or no action. */
    public sealed interface ReqCallReply permits Stop, Rewrite, NoAction {
        long id();
    }

    /** Ends the request. Status 0 becomes 200 in APISIX. */
    public record Stop(long id, int status, List<Entry> headers, byte[] body) implements ReqCallReply {
        public Stop {
            headers = List.copyOf(headers);
            body = body == null ? new byte[0] : body;
        }

        public String bodyAsString() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "Stop{status=" + status + ", headers=" + headers
                    + (body.length > 0 ? ", body=" + A6.abbreviate(bodyAsString(), 80) : "") + "}";
        }
    }

    /** Lets the request go on, possibly changed. Null path = unchanged. */
    public record Rewrite(long id, String path, List<Entry> headers, List<Entry> args,
                          List<Entry> respHeaders) implements ReqCallReply {
        public Rewrite {
            headers = List.copyOf(headers);
            args = List.copyOf(args);
            respHeaders = List.copyOf(respHeaders);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("Rewrite{");
            String sep = "";
            if (path != null) {
                sb.append("path=").append(path);
                sep = ", ";
            }
            if (!headers.isEmpty()) {
                sb.append(sep).append("headers=").append(headers);
                sep = ", ";
            }
            if (!args.isEmpty()) {
                sb.append(sep).append("args=").append(args);
                sep = ", ";
            }
            if (!respHeaders.isEmpty()) {
                sb.append(sep).append("resp_headers=").append(respHeaders);
            }
            return sb.append('}').toString();
        }
    }

    /** A reply whose action union is NONE: APISIX just goes on. */
    public record NoAction(long id) implements ReqCallReply {
        @Override
        public String toString() {
            return "NoAction";
        }
    }

    /** {@code HTTPRespCall.Resp}. */
    public record RespCallReply(long id, int status, List<Entry> headers, byte[] body) {
        public RespCallReply {
            headers = List.copyOf(headers);
            body = body == null ? new byte[0] : body;
        }

        public String bodyAsString() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "RespCall{status=" + status + ", headers=" + headers
                    + (body.length > 0 ? ", body=" + A6.abbreviate(bodyAsString(), 80) : "") + "}";
        }
    }

    /** HTTP method name to the {@code A6.Method} constant, as init.lua's table (null if unknown). */
    public static Integer methodCode(String method) {
        String m = method.toUpperCase(Locale.ROOT);
        String[] names = io.github.api7.A6.Method.names;
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(m)) {
                return i;
            }
        }
        return null;
    }

    static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "…(" + s.length() + " chars)";
    }
}
