package io.github.apisixsession.storage.redis;

import java.nio.charset.StandardCharsets;

/**
 * The storage's key names. A session is {@code [prefix:]<key>[:suffix]} (the engine's key is
 * {@code <cookie name>:<session id>}, so this is lua-resty-session's {@code [prefix:]name:key[:suffix]});
 * a subject's sorted set is {@code [prefix:]@meta:<audience>:<subject>[:suffix]} ({@code %} and
 * {@code :} escaped).
 */
final class RedisKeys {

    private final String prefix;
    private final String suffix;

    RedisKeys(RedisSettings settings) {
        this.prefix = settings.prefix() == null ? "" : settings.prefix() + ":";
        this.suffix = settings.suffix() == null ? "" : ":" + settings.suffix();
    }

    /** The Redis key of a session: {@code [prefix:]<key>[:suffix]}. */
    String session(String key) {
        return prefix + key + suffix;
    }

    /** The Redis key of a subject's sorted set: {@code [prefix:]@meta:<audience>:<subject>[:suffix]}. */
    String metadata(String audience, String subject) {
        // '@' cannot start a cookie name (RFC 6265 token), so this never meets a session key
        return prefix + "@meta:" + escape(audience) + ":" + escape(subject) + suffix;
    }

    private static String escape(String s) {
        return s.indexOf('%') < 0 && s.indexOf(':') < 0 ? s : s.replace("%", "%25").replace(":", "%3A");
    }

    /** Keys and arguments go to Redis as UTF-8. */
    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
