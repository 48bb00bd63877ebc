package io.github.apisixsession.simulator;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed {@code Set-Cookie} value. Attribute names are lower-cased; flag attributes (HttpOnly,
 * Secure) map to "".
 */
public record SetCookie(String name, String value, Map<String, String> attributes) {
    public SetCookie {
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    /** Null when the header has no {@code name=value} pair. */
    public static SetCookie parse(String header) {
        if (header == null) {
            return null;
        }
        String[] parts = header.split(";");
        String first = parts[0].trim();
        int eq = first.indexOf('=');
        if (eq <= 0) {
            return null;
        }
        Map<String, String> attrs = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            if (p.isEmpty()) {
                continue;
            }
            int e = p.indexOf('=');
            if (e < 0) {
                attrs.put(p.toLowerCase(Locale.ROOT), "");
            } else {
                attrs.put(p.substring(0, e).trim().toLowerCase(Locale.ROOT), p.substring(e + 1).trim());
            }
        }
        return new SetCookie(first.substring(0, eq).trim(), first.substring(eq + 1).trim(), attrs);
    }

    public String attribute(String name) {
        return attributes.get(name.toLowerCase(Locale.ROOT));
    }

    public boolean has(String attribute) {
        return attributes.containsKey(attribute.toLowerCase(Locale.ROOT));
    }

    public boolean httpOnly() {
        return has("httponly");
    }

    public boolean secure() {
        return has("secure");
    }

    /** Max-Age &lt;= 0 or an Expires in the past: the browser deletes the cookie. */
    public boolean deletes() {
        String maxAge = attribute("max-age");
        if (maxAge != null) {
            try {
                return Long.parseLong(maxAge) <= 0;
            } catch (NumberFormatException ignored) {
                // fall through to Expires
            }
        }
        String expires = attribute("expires");
        if (expires != null) {
            try {
                return ZonedDateTime.parse(expires, DateTimeFormatter.RFC_1123_DATE_TIME)
                        .isBefore(ZonedDateTime.now());
            } catch (DateTimeParseException ignored) {
                return false;
            }
        }
        return false;
    }
}
