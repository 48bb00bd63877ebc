package io.github.apisixsession.core.http;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.persistence.SessionEntry;

import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kong's {@code request_headers} / {@code response_headers}: {@code Session-Id},
 * {@code Session-Audience}, {@code Session-Subject} and the seconds left before each timeout.
 * On the upstream request they are ours alone: a value the client sent under one of the configured
 * names never reaches the upstream, with a session or without (Kong lets it through).
 */
public final class SessionHeaders {

    /** The option's values and the header each sends. */
    public static final Map<String, String> NAMES = Map.of(
            "id", "Session-Id",
            "audience", "Session-Audience",
            "subject", "Session-Subject",
            "timeout", "Session-Timeout",
            "idling-timeout", "Session-Idling-Timeout",
            "rolling-timeout", "Session-Rolling-Timeout",
            "absolute-timeout", "Session-Absolute-Timeout");

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private SessionHeaders() {
    }

    /** The {@code response_headers} of a valid session, added to the client's response. */
    public static void addToResponse(SessionConfig config, SessionHeader h, SessionEntry entry, long now,
                                     List<HttpHeader> out) {
        for (String name : config.responseHeaders()) {
            String value = value(config, name, h, entry, now);
            if (value != null) {
                out.add(new HttpHeader(NAMES.get(name), value));
            }
        }
    }

    /** The {@code request_headers} of a valid session; one without a value is removed. */
    public static void setOnRequest(SessionConfig config, SessionHeader h, SessionEntry entry, long now,
                                    UpstreamHeaders upstream) {
        for (String name : config.requestHeaders()) {
            upstream.set(NAMES.get(name), value(config, name, h, entry, now));
        }
    }

    /** No valid session: whatever the client sent under the {@code request_headers} names is removed. */
    public static void stripFromRequest(SessionConfig config, UpstreamHeaders upstream) {
        for (String name : config.requestHeaders()) {
            upstream.set(NAMES.get(name), null);
        }
    }

    /** The value of header {@code name} (an option value such as {@code "subject"}), or null. */
    private static String value(SessionConfig config, String name, SessionHeader h, SessionEntry entry, long now) {
        SessionConfig.Timeouts t = config.timeouts();
        long idling = t.idling() > 0 ? t.idling() - (now - h.creationTime() - h.rollingOffset() - h.idlingOffset()) : -1;
        long rolling = t.rolling() > 0 ? t.rolling() - (now - h.creationTime() - h.rollingOffset()) : -1;
        long absolute = t.absolute() > 0 ? t.absolute() - (now - h.creationTime()) : -1;
        return switch (name) {
            case "id" -> B64.encodeToString(h.sid());
            case "audience" -> entry.audience();
            case "subject" -> entry.hasSubject() ? entry.subject() : null;
            case "idling-timeout" -> seconds(idling);
            case "rolling-timeout" -> seconds(rolling);
            case "absolute-timeout" -> seconds(absolute);
            case "timeout" -> {
                long min = Long.MAX_VALUE;
                for (long v : new long[] {idling, rolling, absolute}) {
                    if (v >= 0) {
                        min = Math.min(min, v);
                    }
                }
                yield seconds(min == Long.MAX_VALUE ? -1 : min);
            }
            default -> null;
        };
    }

    private static String seconds(long seconds) {
        return seconds >= 0 ? Long.toString(seconds) : null;
    }
}
