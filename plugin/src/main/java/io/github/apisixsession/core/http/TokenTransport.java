package io.github.apisixsession.core.http;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.codec.CookieAttributes;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.SetCookieRenderer;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.config.SessionConfig.TokenLookup;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How session tokens travel for one route ({@code key_lookup}): read from a cookie, a request
 * header or a query argument; sent back as {@code Set-Cookie} (cookies) or as a response header of
 * the same name (header and query lookups, for API and mobile clients). Also the sticky cookie and
 * the removal of the token from the upstream request ({@code forward_session: false}).
 */
public final class TokenTransport {

    private final SessionConfig config;
    private final CookieAttributes attributes;

    public TokenTransport(SessionConfig config) {
        this.config = config;
        SessionConfig.Cookie c = config.cookie();
        this.attributes = new CookieAttributes(c.domain(), c.path(), c.sameSite(), c.priority(), c.partitioned(),
                c.secure(), c.httpOnly()).forName(config.tokenName());
    }

    public boolean usesCookies() {
        return config.lookup().source() == TokenLookup.Source.COOKIE;
    }

    /** The session token of the request, or null. */
    public String sessionToken(RequestView request, Map<String, String> cookies) {
        String name = config.tokenName();
        List<String> values = switch (config.lookup().source()) {
            case COOKIE -> {
                String v = cookies.get(name);
                yield v == null ? List.of() : List.of(v);
            }
            case HEADER -> request.headers(name);
            case QUERY -> request.queryArgs(name);
        };
        String token = values.isEmpty() ? null : values.get(0);
        if (token != null && config.lookup().source() != TokenLookup.Source.COOKIE) {
            // the Cookie parser already trimmed the value and removed one pair of quotes; trimming
            // again would also accept whitespace and controls inside the quotes
            token = token.trim();
        }
        return token == null || token.isEmpty() ? null : token;
    }

    /** The APISIX variable that holds the token in a response-phase call (post-resp). */
    public String tokenVariable() {
        String name = config.tokenName();
        return switch (config.lookup().source()) {
            case COOKIE -> "cookie_" + name;
            case HEADER -> "http_" + name.toLowerCase(Locale.ROOT).replace('-', '_');
            case QUERY -> "arg_" + name;
        };
    }

    /**
     * The session's token chunks: Set-Cookie per chunk (expiring chunks the previous session used
     * beyond them), or one response header.
     *
     * @param lifetime seconds the session can live; used for persistent cookies
     *                 ({@code cookie_session_only: false})
     */
    public void sendSession(List<CookieChunker.Chunk> chunks, int previousChunks, long now, long lifetime,
                     List<HttpHeader> out) {
        if (!usesCookies()) {
            out.add(new HttpHeader(config.tokenName(), chunks.get(0).value()));
            return;
        }
        for (CookieChunker.Chunk chunk : chunks) {
            out.add(setCookie(config.cookie().sessionOnly()
                    ? SetCookieRenderer.render(chunk.name(), chunk.value(), attributes)
                    : SetCookieRenderer.renderPersistent(chunk.name(), chunk.value(), attributes, now + lifetime,
                    lifetime)));
        }
        for (int i = chunks.size() + 1; i <= previousChunks; i++) {
            out.add(setCookie(SetCookieRenderer.renderExpired(config.tokenName() + i, attributes)));
        }
    }

    /**
     * The remember cookie: persistent, {@code Expires} at creation + remember_rolling_timeout and
     * {@code Max-Age} the full timeout, as lua-resty-session sends it; chunks the previous remember
     * cookie used beyond them are expired.
     */
    public void sendRemember(List<CookieChunker.Chunk> chunks, int previousChunks, long creationTime, List<HttpHeader> out) {
        long maxAge = config.remember().rollingTimeout();
        if (maxAge == 0 || maxAge > SessionConfig.MAX_SECONDS) {
            maxAge = SessionConfig.MAX_SECONDS;
        }
        CookieAttributes remember = attributes.forName(config.remember().cookieName());
        for (CookieChunker.Chunk chunk : chunks) {
            out.add(setCookie(SetCookieRenderer.renderPersistent(chunk.name(), chunk.value(), remember,
                    creationTime + maxAge, maxAge)));
        }
        for (int i = chunks.size() + 1; i <= previousChunks; i++) {
            out.add(setCookie(SetCookieRenderer.renderExpired(config.remember().cookieName() + i, remember)));
        }
    }

    /** Tells the browser to drop {@code name} and its chunks 2…{@code chunks}. */
    public void expire(String name, int chunks, List<HttpHeader> out) {
        if (!usesCookies() && name.equals(config.tokenName())) {
            return;
        }
        out.add(setCookie(SetCookieRenderer.renderExpired(name, attributes.forName(name))));
        for (int i = 2; i <= chunks; i++) {
            out.add(setCookie(SetCookieRenderer.renderExpired(name + i, attributes.forName(name))));
        }
    }

    /** The sticky cookie: as long-lived as the session cookie, unchanged by renewals. */
    public void sendSticky(String family, List<HttpHeader> out) {
        out.add(setCookie(SetCookieRenderer.render(config.stickyCookieName(), family,
                attributes.forName(config.stickyCookieName()))));
    }

    public void expireSticky(List<HttpHeader> out) {
        if (config.stickyCookieName() != null) {
            expire(config.stickyCookieName(), 1, out);
        }
    }

    /**
     * The upstream request's Cookie header, rebuilt when the session token must not reach the
     * upstream ({@code forward_session: false}) or when a new sticky cookie must already steer this
     * request (APISIX's chash balancer reads {@code cookie_<name>} after the plugin ran).
     */
    public void rewriteRequestCookies(RequestView request, String newSticky, List<HttpHeader> changes) {
        boolean strip = !config.forwardSession();
        if (!strip && newSticky == null) {
            return;
        }
        if (strip && !usesCookies()) {
            if (config.lookup().source() == TokenLookup.Source.HEADER && !request.headers(config.tokenName()).isEmpty()) {
                changes.add(HttpHeader.remove(config.tokenName()));
            }
            if (newSticky == null) {
                return;
            }
        }
        Set<String> dropped = new HashSet<>();
        if (strip && usesCookies()) {
            dropped.add(config.tokenName());
            for (int i = 2; i <= CookieChunker.MAX_COOKIES; i++) {
                dropped.add(config.tokenName() + i);
            }
            if (config.remember().enabled()) {
                dropped.add(config.remember().cookieName());
            }
        }
        if (newSticky != null) {
            dropped.add(config.stickyCookieName());
        }
        StringBuilder kept = new StringBuilder();
        boolean changed = newSticky != null;
        for (String header : request.headers("Cookie")) {
            for (String pair : header.split(";")) {
                String p = pair.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                String name = eq < 0 ? p : p.substring(0, eq).trim();
                if (dropped.contains(name)) {
                    changed = true;
                    continue;
                }
                if (kept.length() > 0) {
                    kept.append("; ");
                }
                kept.append(p);
            }
        }
        if (newSticky != null) {
            if (kept.length() > 0) {
                kept.append("; ");
            }
            kept.append(config.stickyCookieName()).append('=').append(newSticky);
        }
        if (!changed) {
            return;
        }
        changes.add(kept.length() == 0 ? HttpHeader.remove("Cookie") : new HttpHeader("Cookie", kept.toString()));
    }

    private static HttpHeader setCookie(String value) {
        return new HttpHeader("Set-Cookie", value);
    }
}
