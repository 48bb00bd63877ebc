package io.github.apisixsession.simulator;

import java.nio.charset.StandardCharsets;

/** What a simulated upstream answers. Builder style. */
public final class UpstreamResponse {
    private int status;
    private final HttpHeaders headers = new HttpHeaders();
    private byte[] body = new byte[0];

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

    public int status() {
        return status;
    }

    public HttpHeaders headers() {
        return headers;
    }

    public byte[] body() {
        return body;
    }

    public String bodyAsString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return status + " " + headers;
    }
}
