package io.github.apisixsession.simulator;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** What an HTTP client sends to the simulated gateway. Mutable builder style. */
public final class ClientRequest {
    private final String method;
    private final String uri;
    private final HttpHeaders headers = new HttpHeaders();
    private byte[] body;
    private String remoteAddr = "127.0.0.1";
    private String scheme = "http";
    private String httpVersion = "HTTP/1.1";

    private ClientRequest(String method, String uri) {
        this.method = method.toUpperCase(Locale.ROOT);
        this.uri = uri;
        headers.add("Host", "127.0.0.1:9080");
        headers.add("User-Agent", "apisix-simulator");
    }

    public static ClientRequest of(String method, String uri) {
        return new ClientRequest(method, uri);
    }

    public static ClientRequest get(String uri) {
        return new ClientRequest("GET", uri);
    }

    public static ClientRequest post(String uri) {
        return new ClientRequest("POST", uri);
    }

    public static ClientRequest delete(String uri) {
        return new ClientRequest("DELETE", uri);
    }

    public static ClientRequest head(String uri) {
        return new ClientRequest("HEAD", uri);
    }

    /**
     * The protocol of the request line: {@code HTTP/1.1} (default) or {@code HTTP/1.0}, which is
     * what an nginx in front of APISIX sends by default ({@code proxy_http_version 1.0}).
     */
    public ClientRequest httpVersion(String version) {
        if (!version.equals("HTTP/1.0") && !version.equals("HTTP/1.1")) {
            throw new IllegalArgumentException("HTTP/1.0 or HTTP/1.1 expected: " + version);
        }
        this.httpVersion = version;
        return this;
    }

    /** {@code httpVersion("HTTP/1.0")}. */
    public ClientRequest http10() {
        return httpVersion("HTTP/1.0");
    }

    /** Adds a header (repeat to send several). */
    public ClientRequest header(String name, String value) {
        headers.add(name, value);
        return this;
    }

    /** Replaces a header. */
    public ClientRequest setHeader(String name, String value) {
        headers.set(name, value);
        return this;
    }

    /** Sets the raw {@code Cookie} header. */
    public ClientRequest cookie(String cookieHeader) {
        if (cookieHeader == null || cookieHeader.isEmpty()) {
            headers.remove("Cookie");
        } else {
            headers.set("Cookie", cookieHeader);
        }
        return this;
    }

    /** Sends a cookie jar's cookies (no header if empty). */
    public ClientRequest cookies(CookieJar jar) {
        return cookie(jar.cookieHeader());
    }

    public ClientRequest apikey(String key) {
        return setHeader("apikey", key);
    }

    public ClientRequest body(String text) {
        this.body = text.getBytes(StandardCharsets.UTF_8);
        return this;
    }

    public ClientRequest body(byte[] bytes) {
        this.body = bytes.clone();
        return this;
    }

    /** A urlencoded form body. */
    public ClientRequest form(String urlencoded) {
        headers.set("Content-Type", "application/x-www-form-urlencoded");
        return body(urlencoded);
    }

    /** The client's address in any literal form; the gateway holds it as nginx does ({@link NginxAddress}). */
    public ClientRequest remoteAddr(String ip) {
        this.remoteAddr = ip;
        return this;
    }

    /** {@code $scheme}: "http" (the default) or "https", as the listener the client reached. */
    public ClientRequest scheme(String value) {
        this.scheme = value;
        return this;
    }

    public String method() {
        return method;
    }

    public String uri() {
        return uri;
    }

    public String path() {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** The raw query string without '?', or "" . */
    public String query() {
        int q = uri.indexOf('?');
        return q < 0 ? "" : uri.substring(q + 1);
    }

    public HttpHeaders headers() {
        return headers;
    }

    /** Null when the request has no body. */
    public byte[] body() {
        return body;
    }

    public String remoteAddr() {
        return remoteAddr;
    }

    public String scheme() {
        return scheme;
    }

    /** {@code HTTP/1.1} or {@code HTTP/1.0} (nginx's {@code $server_protocol}). */
    public String httpVersion() {
        return httpVersion;
    }

    @Override
    public String toString() {
        return method + " " + uri + (httpVersion.equals("HTTP/1.1") ? "" : " " + httpVersion);
    }
}
