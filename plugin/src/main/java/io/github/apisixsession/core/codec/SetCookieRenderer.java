package io.github.apisixsession.core.codec;

/**
 * Renders {@code Set-Cookie} values byte for byte as lua-resty-session 4.0.5 does:
 * {@code name=value[; Domain=…]; Path=…[; SameSite=…][; Priority=…][; Partitioned][; Secure]
 * [; HttpOnly]} and then, for persistent or expired cookies, {@code ; Expires=…; Max-Age=…}.
 * Domain is skipped when empty or {@code localhost}; SameSite "Default" omits the attribute.
 */
public final class SetCookieRenderer {

    /** lua-resty-session's expiry for deleted cookies. */
    public static final String EXPIRED = "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0";

    private SetCookieRenderer() {
    }

    /** A browser-session cookie (no Expires). */
    public static String render(String name, String value, CookieAttributes attributes) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * A persistent cookie: {@code Expires} at {@code expiresEpochSeconds} (IMF-fixdate, GMT) and
     * {@code Max-Age=maxAgeSeconds}.
     */
    public static String renderPersistent(String name, String value, CookieAttributes attributes,
                                          long expiresEpochSeconds, long maxAgeSeconds) {
        throw new UnsupportedOperationException("TODO");
    }

    /** A cookie that tells the browser to drop {@code name}: empty value and {@link #EXPIRED}. */
    public static String renderExpired(String name, CookieAttributes attributes) {
        throw new UnsupportedOperationException("TODO");
    }
}
