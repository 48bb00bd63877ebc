package io.github.apisixsession.core.http;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The request's cookies by name. The first occurrence of a name wins: browsers send the cookie with
 * the most specific path first.
 */
public final class Cookies {

    /** More cookies than this in one request is abuse; the rest are ignored. */
    private static final int MAX_COOKIES = 256;

    private Cookies() {
    }

    public static Map<String, String> parse(List<String> cookieHeaders) {
        Map<String, String> out = new HashMap<>();
        for (String header : cookieHeaders) {
            int start = 0;
            int length = header.length();
            while (start < length && out.size() < MAX_COOKIES) {
                int end = header.indexOf(';', start);
                if (end < 0) {
                    end = length;
                }
                int eq = header.indexOf('=', start);
                if (eq > start && eq < end) {
                    String name = header.substring(start, eq).trim();
                    String value = header.substring(eq + 1, end).trim();
                    if (value.length() >= 2 && value.charAt(0) == '"' && value.charAt(value.length() - 1) == '"') {
                        value = value.substring(1, value.length() - 1);
                    }
                    if (!name.isEmpty()) {
                        out.putIfAbsent(name, value);
                    }
                }
                start = end + 1;
            }
        }
        return out;
    }
}
