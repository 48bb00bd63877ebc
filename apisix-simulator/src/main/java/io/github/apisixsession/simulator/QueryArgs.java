package io.github.apisixsession.simulator;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Query strings to and from ordered argument lists, as {@code ngx.req.get_uri_args} sees them. */
public final class QueryArgs {
    private QueryArgs() {
    }

    /** {@code a=1&b&c=} gives {@code a:"1"}, {@code b} (no value), {@code c:""}. */
    public static List<Entry> parse(String query) {
        List<Entry> out = new ArrayList<>();
        if (query == null || query.isEmpty()) {
            return out;
        }
        for (String part : query.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                out.add(new Entry(decode(part), null));
            } else {
                out.add(new Entry(decode(part.substring(0, eq)), decode(part.substring(eq + 1))));
            }
        }
        return out;
    }

    public static String encode(List<Entry> args) {
        StringBuilder sb = new StringBuilder();
        for (Entry e : args) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(URLEncoder.encode(e.name(), StandardCharsets.UTF_8));
            if (e.value() != null) {
                sb.append('=').append(URLEncoder.encode(e.value(), StandardCharsets.UTF_8));
            }
        }
        return sb.toString();
    }

    static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // nginx leaves malformed escapes alone
        }
    }
}
