package io.github.apisixsession.core.http;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.persistence.SessionEntry;

import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * Kong's {@code request_headers} / {@code response_headers}: {@code Session-Id},
 * {@code Session-Audience}, {@code Session-Subject} and the seconds left before each timeout.
 */
public final class SessionHeaders {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private SessionHeaders() {
    }

    /** Adds the {@code wanted} headers of a valid session to {@code out}. */
    public static void add(SessionConfig config, Set<String> wanted, SessionHeader h, SessionEntry entry, long now,
                           List<HttpHeader> out) {
        if (wanted.isEmpty()) {
            return;
        }
        SessionConfig.Timeouts t = config.timeouts();
        long idling = t.idling() > 0 ? t.idling() - (now - h.creationTime() - h.rollingOffset() - h.idlingOffset()) : -1;
        long rolling = t.rolling() > 0 ? t.rolling() - (now - h.creationTime() - h.rollingOffset()) : -1;
        long absolute = t.absolute() > 0 ? t.absolute() - (now - h.creationTime()) : -1;
        for (String name : wanted) {
            switch (name) {
                case "id" -> out.add(new HttpHeader("Session-Id", B64.encodeToString(h.sid())));
                case "audience" -> out.add(new HttpHeader("Session-Audience", entry.audience()));
                case "subject" -> {
                    if (entry.hasSubject()) {
                        out.add(new HttpHeader("Session-Subject", entry.subject()));
                    }
                }
                case "idling-timeout" -> addTimeout(out, "Session-Idling-Timeout", idling);
                case "rolling-timeout" -> addTimeout(out, "Session-Rolling-Timeout", rolling);
                case "absolute-timeout" -> addTimeout(out, "Session-Absolute-Timeout", absolute);
                case "timeout" -> {
                    long min = Long.MAX_VALUE;
                    for (long v : new long[] {idling, rolling, absolute}) {
                        if (v >= 0) {
                            min = Math.min(min, v);
                        }
                    }
                    addTimeout(out, "Session-Timeout", min == Long.MAX_VALUE ? -1 : min);
                }
                default -> {
                }
            }
        }
    }

    private static void addTimeout(List<HttpHeader> out, String name, long seconds) {
        if (seconds >= 0) {
            out.add(new HttpHeader(name, Long.toString(seconds)));
        }
    }
}
