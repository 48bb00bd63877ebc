package io.github.apisixsession.simulator;

/**
 * A login service for the post-resp framing tests: {@code /…/{kind}/{framing}} answers
 * {@code ok} (200, JSON, {@code X-Session-Subject: alice}, groups, a cookie), {@code fail} (401),
 * {@code empty} (200, no body), {@code nocontent} (204) or {@code notmodified} (304), framed with
 * Content-Length ({@code length}), {@code chunked} or by closing ({@code close}), always with the
 * hop-by-hop headers of a keep-alive server: {@code Connection: keep-alive, X-Hop} (so
 * {@code X-Hop} is hop-by-hop too), {@code Keep-Alive}, {@code Proxy-Authenticate},
 * {@code Trailer}, {@code Upgrade}.
 */
public final class FramingUpstream {

    public static final String WELCOME = "{\"welcome\":\"alice\"}";
    public static final String BAD_CREDENTIALS = "{\"error\":\"bad credentials\"}";

    private FramingUpstream() {
    }

    public static UpstreamResponse answer(UpstreamRequest req) {
        String[] parts = req.path().split("/");
        UpstreamResponse r = switch (parts[parts.length - 2]) {
            case "fail" -> UpstreamResponse.status(401).header("Content-Type", "application/json").body(BAD_CREDENTIALS);
            case "empty" -> UpstreamResponse.status(200).header("X-Session-Subject", "alice");
            case "nocontent" -> UpstreamResponse.status(204).header("X-Session-Subject", "alice");
            case "notmodified" -> UpstreamResponse.status(304).header("ETag", "\"v1\"").header("X-Session-Subject", "alice");
            default -> UpstreamResponse.json(WELCOME).header("X-Session-Subject", "alice")
                    .header("X-Session-Groups", "admin").header("Set-Cookie", "app_pref=dark; Path=/");
        };
        r.header("Connection", "keep-alive, X-Hop").header("Keep-Alive", "timeout=5").header("X-Hop", "named by Connection")
                .header("Proxy-Authenticate", "Basic").header("Trailer", "X-Checksum").header("Upgrade", "h2c");
        switch (parts[parts.length - 1]) {
            case "chunked" -> r.chunked();
            case "close" -> r.closeDelimited();
            default -> { }
        }
        return r;
    }
}
