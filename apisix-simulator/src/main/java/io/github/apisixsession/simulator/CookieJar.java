package io.github.apisixsession.simulator;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal browser cookie store for one client: applies {@code Set-Cookie} headers (deleting on
 * {@code Max-Age=0} or a past {@code Expires}) and renders the {@code Cookie} header. Domain and
 * path scoping are ignored: every route of a test shares one origin.
 */
public final class CookieJar {
    private final Map<String, String> cookies = new LinkedHashMap<>();

    /** Applies every Set-Cookie of a response; returns this. */
    public synchronized CookieJar update(ClientResponse response) {
        for (String sc : response.setCookies()) {
            apply(sc);
        }
        return this;
    }

    /** Applies one Set-Cookie header value. */
    public synchronized CookieJar apply(String setCookieHeader) {
        SetCookie c = SetCookie.parse(setCookieHeader);
        if (c == null) {
            return this;
        }
        if (c.deletes()) {
            cookies.remove(c.name());
        } else {
            cookies.put(c.name(), c.value());
        }
        return this;
    }

    public synchronized CookieJar put(String name, String value) {
        cookies.put(name, value);
        return this;
    }

    public synchronized CookieJar remove(String name) {
        cookies.remove(name);
        return this;
    }

    public synchronized CookieJar clear() {
        cookies.clear();
        return this;
    }

    public synchronized String get(String name) {
        return cookies.get(name);
    }

    public synchronized Map<String, String> asMap() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(cookies));
    }

    public synchronized boolean isEmpty() {
        return cookies.isEmpty();
    }

    /** {@code a=1; b=2}, or "" when empty. */
    public synchronized String cookieHeader() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : cookies.entrySet()) {
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append(e.getKey()).append('=').append(e.getValue());
        }
        return sb.toString();
    }

    @Override
    public synchronized String toString() {
        return cookieHeader();
    }
}
