package io.github.apisixsession.core.config;

import io.github.apisixsession.storage.StorageConfig;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/** How single fields of the session config are read and checked; values are never echoed. */
final class ConfigFields {

    private ConfigFields() {
    }

    static long seconds(StorageConfig c, String key, long defaultValue) {
        Duration d = c.getSeconds(key, Duration.ofSeconds(defaultValue), Duration.ZERO,
                Duration.ofSeconds(SessionConfig.MAX_SECONDS));
        // lua-resty-session works in whole seconds
        return d.getSeconds();
    }

    static String nonEmpty(StorageConfig c, String key, String defaultValue) throws ConfigException {
        String v = c.getString(key, defaultValue);
        if (v.isEmpty()) {
            throw new ConfigException(key, "must not be empty");
        }
        return v;
    }

    static String optionalNonEmpty(StorageConfig c, String key) {
        String v = c.getString(key, null);
        return v == null || v.isEmpty() ? null : v;
    }

    static Set<String> upperSet(StorageConfig c, String key, List<String> defaults, Set<String> allowed)
            throws ConfigException {
        List<String> values = c.has(key) ? c.getStringList(key) : defaults;
        Set<String> out = new LinkedHashSet<>();
        for (String v : values) {
            String upper = v.toUpperCase(Locale.ROOT);
            if (!allowed.contains(upper)) {
                throw new ConfigException(key, "values must be among " + new TreeSet<>(allowed));
            }
            out.add(upper);
        }
        return out;
    }

    static Set<String> enumSet(StorageConfig c, String key, Set<String> allowed) throws ConfigException {
        Set<String> out = new LinkedHashSet<>();
        for (String v : c.getStringList(key)) {
            if (!allowed.contains(v)) {
                throw new ConfigException(key, "values must be among " + new TreeSet<>(allowed));
            }
            out.add(v);
        }
        return out;
    }

    /** An RFC 7230 token: what cookie and header names may be. */
    static boolean isToken(String name) {
        if (name == null || name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(ch) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** A cookie attribute value: no ';', spaces, controls or non-ASCII. */
    static boolean isAttributeValue(String v) {
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            if (ch <= 0x20 || ch == ';' || ch == 0x7f || ch > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** At most 40 characters of a value that is no secret, controls replaced, for an error message. */
    static String printable(String s) {
        String cut = s.length() > 40 ? s.substring(0, 40) + "…" : s;
        StringBuilder b = new StringBuilder();
        for (char ch : cut.toCharArray()) {
            b.append(ch < 0x20 || ch == 0x7f ? '?' : ch);
        }
        return b.toString();
    }
}
