package io.github.apisixsession.postresp;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Completes an HTTPRespCall reply so that APISIX sends exactly one response and never calls the
 * upstream again, on every HTTP version.
 *
 * <p>What {@code ext-plugin-post-resp.lua} does with a reply (APISIX 3.x, {@code before_proxy}):
 * with a body ({@code BodyLength() > 0}) it answers {@code core.response.exit(code, body)}; without
 * one it prints the upstream body chunk by chunk with {@code ngx.print} + {@code ngx.flush(true)}
 * and returns nothing. If no response header has gone out by then, the access phase ends normally
 * and nginx proxies the request to the upstream a second time, appending that response's headers
 * ({@code X-Session-Subject} included). That happens when nothing is printed (HEAD, 1xx/204/304,
 * an empty chunked body: lua-resty-http's body reader yields no chunk), and under HTTP/1.0 whenever
 * no Content-Length is set ({@code lua_http10_buffering}: the output is held back, the flush fails
 * with "buffering"). So the reply always carries the upstream body ({@link Carry#BODY}), or says
 * its exact length ({@link Carry#LENGTH}: nginx sends the head at once; APISIX prints the body it
 * kept when the runner asked for it), and answers an empty body in a way that sends the head.
 */
public final class PostRespReply {

    /** How a non-empty upstream body reaches the client, and the body a reply carries when it must have one. */
    public enum Carry {
        /** Our host: the reply carries the body; the placeholder is a newline. */
        BODY((byte) '\n'),
        /**
         * Runner 0.4.0, which garbles bodies that are not UTF-8 text and drops bodies of whitespace
         * only: the reply carries {@code Content-Length} and APISIX prints the body it read for the
         * runner; the placeholder is a dot.
         */
        LENGTH((byte) '.');

        private final byte placeholder;

        Carry(byte placeholder) {
            this.placeholder = placeholder;
        }

        /** The body of a reply that must carry one when the upstream's is empty (nginx drops it for HEAD, 204, 304). */
        public byte[] placeholder() {
            return new byte[] {placeholder};
        }
    }

    /**
     * An A6 frame carries at most 2^24 − 1 bytes; the margin covers an ExtraInfo answer's and a
     * reply's flatbuffer tables.
     */
    static final int MAX_BODY_IN_A_FRAME = (1 << 24) - 1 - 1024;

    /** What nginx sends when nothing sets a Content-Type (APISIX's {@code default_type} and charset). */
    static final HttpHeader DEFAULT_CONTENT_TYPE = new HttpHeader("Content-Type", "text/plain; charset=utf-8");

    private static final byte[] UNAVAILABLE = "{\"message\":\"upstream response body unavailable\"}"
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] PLUGIN_FAILED = "{\"message\":\"plugin failed\"}".getBytes(StandardCharsets.UTF_8);

    /** A reply: status (0 keeps the upstream's), the full header list, the body (empty: none). */
    public record Reply(int status, List<HttpHeader> headers, byte[] body) {
        public Reply {
            headers = List.copyOf(headers);
        }
    }

    /**
     * APISIX variables ({@code request_method}, {@code server_protocol}), asked only when the
     * upstream body is empty; "" when APISIX has no value.
     */
    @FunctionalInterface
    public interface Variables {
        String get(String name) throws GatewayException;
    }

    private PostRespReply() {
    }

    /**
     * Whether our host asks APISIX for the upstream body: not when its Content-Length says it cannot
     * come through a frame (APISIX would fail the call, 503).
     */
    public static boolean fetchBody(List<HttpHeader> upstream) {
        long length = contentLength(upstream);
        return length < 0 || length <= MAX_BODY_IN_A_FRAME;
    }

    /**
     * Whether the body is needed at all when the reply may state a length instead
     * ({@link Carry#LENGTH}): only when the upstream gave none (chunked, close-delimited).
     */
    public static boolean lengthUnknown(List<HttpHeader> upstream) {
        return contentLength(upstream) < 0;
    }

    /**
     * The reply when the body was not fetched and the upstream's Content-Length is known: that
     * length stated, APISIX prints the body as it reads it; head-only answers as in {@link #complete}.
     */
    public static Reply unfetched(int status, List<HttpHeader> headers, int upstreamStatus, List<HttpHeader> upstream,
                                  Carry carry, Variables vars) throws GatewayException {
        long length = contentLength(upstream);
        boolean noContent = upstreamStatus < 200 || upstreamStatus == 204 || upstreamStatus == 304;
        if (length > 0 && !noContent && !"HEAD".equalsIgnoreCase(vars.get("request_method"))) {
            return new Reply(status, withLength(nonEmpty(headers), length), new byte[0]);
        }
        // nothing will be read: the same as an empty body
        return complete(status, headers, upstreamStatus, upstream, new byte[0], carry, vars);
    }

    /** The reply when APISIX could not read the upstream body (it answered the ExtraInfo without a result). */
    public static Reply unavailable() {
        return new Reply(502, List.of(new HttpHeader("Content-Type", "application/json")), UNAVAILABLE);
    }

    /**
     * The reply when a plugin failed. Not an error frame: APISIX would print the upstream body
     * under its 503 and, for an HTTP/1.0 client, call the upstream again.
     */
    public static Reply pluginFailed() {
        return new Reply(503, List.of(new HttpHeader("Content-Type", "application/json")), PLUGIN_FAILED);
    }

    /**
     * The complete reply.
     *
     * @param headers  the reply's headers, {@linkplain FramingHeaders#strip stripped} of framing ones
     * @param upstream the upstream's headers as APISIX sent them
     * @param body     the upstream body as APISIX read it ({@code ExtraInfo RespBody}), never null
     */
    public static Reply complete(int status, List<HttpHeader> headers, int upstreamStatus, List<HttpHeader> upstream,
                                 byte[] body, Carry carry, Variables vars) throws GatewayException {
        List<HttpHeader> h = nonEmpty(headers);
        if (body.length > 0) {
            boolean fits = body.length <= MAX_BODY_IN_A_FRAME - headerBytes(h);
            return carry == Carry.BODY && fits ? new Reply(status, h, body)
                    : new Reply(status, withLength(h, body.length), new byte[0]);
        }
        boolean nothing = printsNothing(upstreamStatus, upstream);
        if (!nothing && !"HEAD".equalsIgnoreCase(vars.get("request_method"))) {
            // APISIX prints one empty chunk; with the length set, nginx sends the head at once
            return new Reply(status, withLength(h, 0), new byte[0]);
        }
        // Nothing to print, so nothing would go out: a body makes APISIX answer. nginx drops it for
        // HEAD, 204 and 304; an empty chunked body of another status becomes this one byte.
        boolean head = !nothing || contentLength(upstream) > 0;
        return new Reply(status, headOnlyLength(h, head, status == 0 ? upstreamStatus : status, upstream, vars),
                carry.placeholder());
    }

    /**
     * The length a head-only answer states. HEAD and 304: the upstream's, the length of the content a
     * 200 would carry (RFC 9110 §8.6). A 1xx, 204 or 304 without one to an HTTP/1.0 client: 0, since
     * ngx_lua buffers HTTP/1.0 output without a length and sends it after the head, placeholder
     * included; nginx's header filter marks a 204 or 304 header-only too late (measured on APISIX
     * 3.18, lua-nginx-module 0.10.23). Never one on a 1xx or 204 to a newer client (RFC 9110 §8.6).
     */
    private static List<HttpHeader> headOnlyLength(List<HttpHeader> headers, boolean head, int status,
                                                   List<HttpHeader> upstream, Variables vars)
            throws GatewayException {
        boolean noContent = status < 200 || status == 204 || status == 304;
        long length = contentLength(upstream);
        if (length >= 0 && (head || status == 304) && status >= 200 && status != 204) {
            return withLength(headers, length);
        }
        if (noContent && http10(vars.get("server_protocol"))) {
            return withLength(headers, 0);
        }
        return headers;
    }

    /** nginx's {@code r->http_version < NGX_HTTP_VERSION_11}. */
    private static boolean http10(String serverProtocol) {
        return "HTTP/1.0".equals(serverProtocol) || "HTTP/0.9".equals(serverProtocol);
    }

    /**
     * Whether lua-resty-http's body reader yields no chunk at all, whatever the method: no body by
     * status, an empty chunked body, or a Content-Length with no bytes read (the answer to a HEAD).
     */
    static boolean printsNothing(int status, List<HttpHeader> upstream) {
        if (status < 200 || status == 204 || status == 304 || contentLength(upstream) > 0) {
            return true;
        }
        for (HttpHeader h : upstream) {
            if (h.is("Transfer-Encoding") && h.value() != null
                    && h.value().toLowerCase(Locale.ROOT).contains("chunked")) {
                return true;
            }
        }
        return false;
    }

    /** A reply without headers makes APISIX copy the upstream's, hop-by-hop ones included. */
    private static List<HttpHeader> nonEmpty(List<HttpHeader> headers) {
        return headers.isEmpty() ? List.of(DEFAULT_CONTENT_TYPE) : headers;
    }

    private static List<HttpHeader> withLength(List<HttpHeader> headers, long length) {
        List<HttpHeader> out = new ArrayList<>(headers.size() + 1);
        out.addAll(headers);
        out.add(new HttpHeader("Content-Length", Long.toString(length)));
        return out;
    }

    /** The upstream's Content-Length; -1 when absent, repeated with different values or not a number. */
    static long contentLength(List<HttpHeader> upstream) {
        long found = -1;
        for (HttpHeader h : upstream) {
            if (!h.is("Content-Length")) {
                continue;
            }
            long n;
            try {
                n = h.value() == null ? -1 : Long.parseLong(h.value().trim());
            } catch (NumberFormatException e) {
                return -1;
            }
            if (n < 0 || found >= 0 && n != found) {
                return -1;
            }
            found = n;
        }
        return found;
    }

    private static int headerBytes(List<HttpHeader> headers) {
        int n = 0;
        for (HttpHeader h : headers) {
            n += 16 + 4 * (h.name().length() + (h.value() == null ? 0 : h.value().length()));
        }
        return n;
    }
}
