package io.github.apisixsession.simulator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What would make a client, or a proxy in front of APISIX, refuse a response or frame it
 * differently from APISIX: a framing header sent twice ({@code Transfer-Encoding: chunked} twice
 * means "chunked, chunked", RFC 9112 §6.1), a hop-by-hop header nginx did not write itself, a length
 * that does not match the body, chunked encoding to an HTTP/1.0 client.
 */
public final class FramingCheck {

    /** Names whose repetition changes or contradicts the framing nginx chose. */
    public static final Set<String> FRAMING = Set.of("transfer-encoding", "content-length", "connection", "keep-alive");

    /** Hop-by-hop names besides nginx's own Connection and Transfer-Encoding: none may reach the client. */
    public static final Set<String> OTHER_HOP_BY_HOP = Set.of("keep-alive", "proxy-connection", "te", "trailer",
            "upgrade", "proxy-authenticate", "proxy-authorization");

    private FramingCheck() {
    }

    /** Extra copies of framing headers: each name counts its fields beyond the first. */
    public static int duplicatedFramingHeaders(ClientResponse r) {
        int extra = 0;
        for (int n : framingCounts(r).values()) {
            extra += Math.max(0, n - 1);
        }
        return extra;
    }

    /** Every framing defect of {@code r} as an answer to {@code request}; empty when well-formed. */
    public static List<String> defects(ClientRequest request, ClientResponse r) {
        List<String> out = new ArrayList<>();
        framingCounts(r).forEach((name, n) -> {
            if (n > 1) {
                out.add(name + " sent " + n + " times");
            }
        });
        for (String name : OTHER_HOP_BY_HOP) {
            if (r.headers().contains(name)) {
                out.add("hop-by-hop " + name + " reached the client");
            }
        }
        for (String connection : r.headerValues("connection")) {
            for (String token : connection.split(",")) {
                String named = token.trim().toLowerCase(Locale.ROOT);
                if (!named.isEmpty() && !named.equals("close") && !named.equals("keep-alive")
                        && r.headers().contains(named)) {
                    out.add(named + " is named by Connection and reached the client");
                }
            }
        }
        boolean chunked = r.headerValues("transfer-encoding").stream()
                .anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("chunked"));
        List<String> lengths = r.headerValues("content-length");
        if (chunked && !lengths.isEmpty()) {
            out.add("both Transfer-Encoding: chunked and Content-Length");
        }
        if (chunked && "HTTP/1.0".equals(request.httpVersion())) {
            out.add("chunked encoding to an HTTP/1.0 client");
        }
        boolean headerOnly = "HEAD".equals(request.method()) || r.status() < 200 || r.status() == 204
                || r.status() == 304;
        if ((r.status() < 200 || r.status() == 204) && !lengths.isEmpty() && !"HTTP/1.0".equals(request.httpVersion())) {
            out.add("Content-Length on a " + r.status() + " (RFC 9110 §8.6)");
        }
        if (headerOnly && r.body().length > 0) {
            out.add("a body of " + r.body().length + " bytes after a head-only response");
        }
        if (!headerOnly) {
            for (String v : lengths) {
                if (!v.trim().equals(Integer.toString(r.body().length))) {
                    out.add("Content-Length " + v + " but a body of " + r.body().length + " bytes");
                }
            }
        }
        return out;
    }

    private static Map<String, Integer> framingCounts(ClientResponse r) {
        Map<String, Integer> counts = new TreeMap<>();
        for (Entry e : r.headers()) {
            String name = e.name().toLowerCase(Locale.ROOT);
            if (FRAMING.contains(name)) {
                counts.merge(name, 1, Integer::sum);
            }
        }
        return counts;
    }
}
