package io.github.apisixsession.simulator;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** What the upstream received from the gateway. */
public record UpstreamRequest(String method, String path, List<Entry> args, HttpHeaders headers, byte[] body) {
    public UpstreamRequest {
        args = List.copyOf(args);
        headers = headers.copy();
    }

    /** First value of a request header (case-insensitive), or null. */
    public String header(String name) {
        return headers.get(name);
    }

    public List<String> headerValues(String name) {
        return headers.getAll(name);
    }

    public boolean hasHeader(String name) {
        return headers.contains(name);
    }

    /** First value of a query argument, "" for a bare one, null if absent. */
    public String arg(String name) {
        for (Entry e : args) {
            if (e.name().equals(name)) {
                return e.value() == null ? "" : e.value();
            }
        }
        return null;
    }

    /** Path plus encoded query as the upstream would see it. */
    public String uri() {
        String q = QueryArgs.encode(args);
        return q.isEmpty() ? path : path + "?" + q;
    }

    public String bodyAsString() {
        return body == null ? "" : new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return method + " " + uri() + " " + headers;
    }
}
