package io.github.apisixsession.core.http;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;

import java.util.ArrayList;
import java.util.List;

/**
 * The changes one request phase makes to the upstream request's headers, in order: a value sets
 * (replaces) a header; an absent value removes it, recorded only when the client sent one.
 */
public final class UpstreamHeaders {

    private final RequestView request;
    private final List<HttpHeader> changes = new ArrayList<>();

    public UpstreamHeaders(RequestView request) {
        this.request = request;
    }

    /** Sets {@code name} to {@code value}, or removes it when {@code value} is null or empty. */
    public void set(String name, String value) {
        if (value != null && !value.isEmpty()) {
            changes.add(new HttpHeader(name, value));
        } else if (!request.headers(name).isEmpty()) {
            changes.add(HttpHeader.remove(name));
        }
    }

    /** The changes so far; hosts apply them in order. Also appended to by {@link TokenTransport}. */
    public List<HttpHeader> changes() {
        return changes;
    }
}
