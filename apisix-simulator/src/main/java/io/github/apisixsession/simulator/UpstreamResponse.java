package io.github.apisixsession.simulator;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * What a simulated upstream answers. Builder style. The body is framed with Content-Length unless
 * {@link #chunked()} or {@link #closeDelimited()} says otherwise; the framing header is part of
 * {@link #wireHeaders()}, which is what APISIX's lua-resty-http sees and passes on in an HTTPRespCall.
 */
public final class UpstreamResponse {

    /** How the upstream delimits its body. */
    public enum Framing {
        /** {@code Content-Length: n} (what most upstreams send). */
        CONTENT_LENGTH,
        /** {@code Transfer-Encoding: chunked}, no length known in advance (streaming frameworks). */
        CHUNKED,
        /** No length at all: the body ends when the upstream closes the connection. */
        CLOSE
    }

    private int status;
    private final HttpHeaders headers = new HttpHeaders();
    private byte[] body = new byte[0];
    private Framing framing = Framing.CONTENT_LENGTH;

    private UpstreamResponse(int status) {
        this.status = status;
    }

    public static UpstreamResponse status(int status) {
        return new UpstreamResponse(status);
    }

    /** 200 with a JSON body. */
    public static UpstreamResponse json(String json) {
        return new UpstreamResponse(200).header("Content-Type", "application/json").body(json);
    }

    public UpstreamResponse header(String name, String value) {
        headers.add(name, value);
        return this;
    }

    public UpstreamResponse body(String text) {
        this.body = text.getBytes(StandardCharsets.UTF_8);
        return this;
    }

    public UpstreamResponse body(byte[] bytes) {
        this.body = bytes.clone();
        return this;
    }

    /** The body is sent with {@code Transfer-Encoding: chunked} (no Content-Length). */
    public UpstreamResponse chunked() {
        this.framing = Framing.CHUNKED;
        return this;
    }

    /** The body is delimited by closing the connection (no Content-Length, not chunked). */
    public UpstreamResponse closeDelimited() {
        this.framing = Framing.CLOSE;
        return this;
    }

    public int status() {
        return status;
    }

    /** The headers the test set, without the framing header ({@link #wireHeaders()} has it). */
    public HttpHeaders headers() {
        return headers;
    }

    public Framing framing() {
        return framing;
    }

    /**
     * The headers as they arrive: the test's, plus {@code Content-Length} or
     * {@code Transfer-Encoding: chunked} for the framing unless the test set one itself.
     */
    public HttpHeaders wireHeaders() {
        HttpHeaders h = headers.copy();
        if (h.contains("content-length") || h.contains("transfer-encoding")) {
            return h;
        }
        switch (framing) {
            case CONTENT_LENGTH -> h.add("Content-Length", Integer.toString(body.length));
            case CHUNKED -> h.add("Transfer-Encoding", "chunked");
            default -> { }
        }
        return h;
    }

    public byte[] body() {
        return body;
    }

    /**
     * The pieces lua-resty-http's {@code body_reader} yields (APISIX prints each with
     * {@code ngx.print}): none for a HEAD request or a 1xx/204/304 answer ({@code has_body} false),
     * none for an empty chunked body (the reader ends at the last chunk without yielding), else the
     * whole body in one piece, an empty one included (Content-Length 0 or an empty close-delimited body
     * yields {@code ""}).
     */
    public List<byte[]> bodyChunks(String requestMethod) {
        if ("HEAD".equals(requestMethod.toUpperCase(Locale.ROOT)) || status < 200 || status == 204 || status == 304) {
            return List.of();
        }
        boolean chunkedOnTheWire = wireHeaders().getAll("transfer-encoding").stream()
                .anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("chunked"));
        if (chunkedOnTheWire && body.length == 0) {
            return List.of();
        }
        return List.of(body.clone());
    }

    public String bodyAsString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return status + " " + wireHeaders();
    }
}
