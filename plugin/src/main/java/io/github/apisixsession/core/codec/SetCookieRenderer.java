package io.github.apisixsession.core.codec;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Renders {@code Set-Cookie} values byte for byte as lua-resty-session 4.0.5 does:
 * {@code name=value[; Domain=…]; Path=…[; SameSite=…][; Priority=…][; Partitioned][; Secure]
 * [; HttpOnly]} and then, for persistent or expired cookies, {@code ; Expires=…; Max-Age=…}.
 * Domain is skipped when empty or {@code localhost}; SameSite "Default" omits the attribute.
 * Secure is forced for SameSite=None and the {@code __Host-} / {@code __Secure-} prefixes
 * ({@link CookieAttributes#forName}); a null path renders as {@code /}.
 */
public final class SetCookieRenderer {

    /** lua-resty-session's expiry for deleted cookies. */
    public static final String EXPIRED = "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0";

    /** ngx.http_time: IMF-fixdate with a two-digit day. */
    private static final DateTimeFormatter HTTP_TIME =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    private SetCookieRenderer() {
    }

    /** A browser-session cookie (no Expires). */
    public static String render(String name, String value, CookieAttributes attributes) {
        return base(name, value, attributes).toString();
    }

    /**
     * A persistent cookie: {@code Expires} at {@code expiresEpochSeconds} (IMF-fixdate, GMT) and
     * {@code Max-Age=maxAgeSeconds}.
     */
    public static String renderPersistent(String name, String value, CookieAttributes attributes,
                                          long expiresEpochSeconds, long maxAgeSeconds) {
        return base(name, value, attributes)
                .append("; Expires=").append(httpTime(expiresEpochSeconds))
                .append("; Max-Age=").append(maxAgeSeconds)
                .toString();
    }

    /** A cookie that tells the browser to drop {@code name}: empty value and {@link #EXPIRED}. */
    public static String renderExpired(String name, CookieAttributes attributes) {
        return base(name, "", attributes).append(EXPIRED).toString();
    }

    /** ngx.http_time of {@code epochSeconds}, e.g. {@code Tue, 21 Nov 2023 22:13:20 GMT}. */
    public static String httpTime(long epochSeconds) {
        return HTTP_TIME.format(Instant.ofEpochSecond(epochSeconds));
    }

    private static StringBuilder base(String name, String value, CookieAttributes attributes) {
        if (name == null || attributes == null) {
            throw new IllegalArgumentException("name and attributes are required");
        }
        CookieAttributes a = attributes.forName(name);
        StringBuilder sb = new StringBuilder(name.length() + (value == null ? 0 : value.length()) + 96);
        sb.append(name).append('=');
        if (value != null) {
            sb.append(value);
        }
        String domain = a.domain();
        if (domain != null && !domain.isEmpty() && !"localhost".equals(domain)) {
            sb.append("; Domain=").append(domain);
        }
        sb.append("; Path=").append(a.path() == null ? "/" : a.path());
        String sameSite = a.sameSite();
        if (sameSite != null && !sameSite.isEmpty() && !"Default".equals(sameSite)) {
            sb.append("; SameSite=").append(sameSite);
        }
        if (a.priority() != null && !a.priority().isEmpty()) {
            sb.append("; Priority=").append(a.priority());
        }
        if (a.partitioned()) {
            sb.append("; Partitioned");
        }
        if (a.secure()) {
            sb.append("; Secure");
        }
        if (a.httpOnly()) {
            sb.append("; HttpOnly");
        }
        return sb;
    }
}
