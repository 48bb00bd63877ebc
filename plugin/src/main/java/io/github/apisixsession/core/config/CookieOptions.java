package io.github.apisixsession.core.config;

import io.github.apisixsession.core.config.SessionConfig.TokenLookup;
import io.github.apisixsession.storage.StorageConfig;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static io.github.apisixsession.core.config.ConfigFields.isAttributeValue;
import static io.github.apisixsession.core.config.ConfigFields.isToken;
import static io.github.apisixsession.core.config.ConfigFields.seconds;

/** The options that say how tokens travel: names, lookup, cookie attributes, remember-me, sticky. */
final class CookieOptions {

    private static final Set<String> SAME_SITE = Set.of("Strict", "Lax", "None", "Default");
    private static final Set<String> PRIORITY = Set.of("Low", "Medium", "High");
    private static final Map<String, Integer> REMEMBER_SAFETY = Map.of("None", 0, "Low", 1_000,
            "Medium", 10_000, "High", 100_000, "Very High", 1_000_000);

    private CookieOptions() {
    }

    /** {@code cookie_name} and {@code key_lookup}. */
    static TokenLookup lookup(StorageConfig c) throws ConfigException {
        String cookieName = c.getString("cookie_name", "session");
        if (!isToken(cookieName) || cookieName.length() > 64) {
            throw new ConfigException("cookie_name", "must be 1-64 characters of letters, digits and !#$%&'*+-.^_`|~");
        }
        String spec = c.getString("key_lookup", null);
        if (spec == null) {
            return new TokenLookup(TokenLookup.Source.COOKIE, cookieName);
        }
        int colon = spec.indexOf(':');
        String source = colon < 0 ? "" : spec.substring(0, colon);
        String name = colon < 0 ? "" : spec.substring(colon + 1);
        TokenLookup.Source s = switch (source) {
            case "cookie" -> TokenLookup.Source.COOKIE;
            case "header" -> TokenLookup.Source.HEADER;
            case "query" -> TokenLookup.Source.QUERY;
            default -> throw new ConfigException("key_lookup", "must be cookie:<name>, header:<name> or query:<name>");
        };
        if (!isToken(name) || name.length() > 64) {
            throw new ConfigException("key_lookup", "the name after \"" + source + ":\" must be 1-64 token characters");
        }
        if (s == TokenLookup.Source.COOKIE && c.has("cookie_name") && !name.equals(cookieName)) {
            throw new ConfigException("key_lookup", "names cookie \"" + name + "\" but cookie_name is \"" + cookieName + "\"");
        }
        return new TokenLookup(s, name);
    }

    /** The {@code cookie_*} attributes. */
    static SessionConfig.Cookie cookie(StorageConfig c) throws ConfigException {
        String path = c.getString("cookie_path", "/");
        if (!path.startsWith("/") || !isAttributeValue(path)) {
            throw new ConfigException("cookie_path", "must start with / and contain no ';', spaces or control characters");
        }
        String domain = c.getString("cookie_domain", null);
        if (domain != null && !domain.isEmpty() && !isAttributeValue(domain)) {
            throw new ConfigException("cookie_domain", "must contain no ';', spaces or control characters");
        }
        String sameSite = c.getString("cookie_same_site", "Strict");
        if (!SAME_SITE.contains(sameSite)) {
            throw new ConfigException("cookie_same_site", "must be one of " + new TreeSet<>(SAME_SITE));
        }
        String priority = c.getString("cookie_priority", null);
        if (priority != null && !PRIORITY.contains(priority)) {
            throw new ConfigException("cookie_priority", "must be one of " + new TreeSet<>(PRIORITY));
        }
        return new SessionConfig.Cookie(path, domain, sameSite, priority, c.getBoolean("cookie_partitioned", false),
                c.getBoolean("cookie_http_only", true), c.getBoolean("cookie_secure", true),
                c.getBoolean("cookie_session_only", true));
    }

    /** {@code remember} and the {@code remember_*} options. */
    static SessionConfig.Remember remember(StorageConfig c, TokenLookup lookup) throws ConfigException {
        boolean enabled = c.getBoolean("remember", false);
        String name = c.getString("remember_cookie_name", "remember");
        if (!isToken(name) || name.length() > 64) {
            throw new ConfigException("remember_cookie_name", "must be 1-64 token characters");
        }
        if (enabled && lookup.source() != TokenLookup.Source.COOKIE) {
            throw new ConfigException("remember", "remember-me needs cookies; key_lookup is " + lookup);
        }
        if (enabled && name.equals(lookup.name())) {
            throw new ConfigException("remember_cookie_name", "must differ from the session cookie name");
        }
        String safety = c.getString("remember_safety", "Medium");
        Integer iterations = REMEMBER_SAFETY.get(safety);
        if (iterations == null) {
            throw new ConfigException("remember_safety", "must be one of " + new TreeSet<>(REMEMBER_SAFETY.keySet()));
        }
        return new SessionConfig.Remember(enabled, name, seconds(c, "remember_rolling_timeout", 604800),
                seconds(c, "remember_absolute_timeout", 2592000), iterations);
    }

    /** {@code sticky_cookie_name}, or null; it must not collide with the session's cookies. */
    static String stickyCookieName(StorageConfig c, TokenLookup lookup, SessionConfig.Remember remember)
            throws ConfigException {
        String sticky = c.getString("sticky_cookie_name", null);
        if (sticky != null) {
            if (!isToken(sticky)) {
                throw new ConfigException("sticky_cookie_name", "must be a cookie name (letters, digits, !#$%&'*+-.^_`|~)");
            }
            if (sticky.equals(lookup.name()) || sticky.equals(remember.cookieName())) {
                throw new ConfigException("sticky_cookie_name", "must differ from the session and remember cookie names");
            }
        }
        return sticky;
    }
}
