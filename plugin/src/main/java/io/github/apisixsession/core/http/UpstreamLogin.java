package io.github.apisixsession.core.http;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.persistence.SessionEntry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an upstream's login response says with its {@code X-Session-*} headers
 * ({@code identity: "upstream"}), and every other header of that response, which the client gets.
 * The {@code X-Session-*} headers themselves never reach the client.
 *
 * @param subject the last {@code X-Session-Subject}, or null
 * @param others  the response's other headers, in order
 */
public record UpstreamLogin(String subject, String credential, List<String> groups, Map<String, String> extra,
                            List<HttpHeader> others) {

    public static final String SESSION_SUBJECT = "X-Session-Subject";
    public static final String SESSION_GROUPS = "X-Session-Groups";
    public static final String SESSION_CREDENTIAL = "X-Session-Credential";
    public static final String SESSION_DATA_PREFIX = "X-Session-Data-";

    /** Splits the upstream's headers into the login and the rest. */
    public static UpstreamLogin read(List<HttpHeader> headers) {
        String subject = null;
        String credential = null;
        List<String> groups = List.of();
        Map<String, String> extra = new LinkedHashMap<>();
        List<HttpHeader> others = new ArrayList<>();
        for (HttpHeader h : headers) {
            if (h.is(SESSION_SUBJECT)) {
                subject = h.value();
            } else if (h.is(SESSION_GROUPS)) {
                groups = SessionEntry.groupsOf(h.value());
            } else if (h.is(SESSION_CREDENTIAL)) {
                credential = h.value();
            } else if (h.name().regionMatches(true, 0, SESSION_DATA_PREFIX, 0, SESSION_DATA_PREFIX.length())) {
                String name = SessionEntry.dataKey(h.name().substring(SESSION_DATA_PREFIX.length()));
                if (!name.isEmpty()) {
                    extra.put(name, h.value());
                }
            } else {
                others.add(h);
            }
        }
        return new UpstreamLogin(subject, credential, groups, extra, others);
    }

    /** Whether the upstream logged someone in. */
    public boolean loggedIn() {
        return subject != null && !subject.isBlank();
    }

    /** The new session's entry in {@code audience}, with a new family. */
    public SessionEntry entry(String audience) {
        String s = subject.trim();
        return new SessionEntry(audience, s, s, credential, groups, extra, SessionEntry.newFamily());
    }
}
