package io.github.apisixsession.postresp;

import io.github.apisixsession.core.HttpHeader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The headers an HTTPRespCall reply must never carry. nginx frames the response it sends with its
 * own {@code Content-Length} or {@code Transfer-Encoding: chunked} and {@code Connection}, and
 * writes every header of the reply after them verbatim: an upstream's hop-by-hop header in the
 * reply reaches the client next to nginx's (two {@code Transfer-Encoding: chunked} mean "chunked,
 * chunked", RFC 9112 §6.1), and an upstream's {@code Content-Length} would describe a body nginx
 * no longer sends as it was.
 */
public final class FramingHeaders {

    /** Hop-by-hop fields (RFC 9110 §7.6.1, plus the legacy Keep-Alive and Proxy-Connection) and Content-Length. */
    static final Set<String> NEVER = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
            "trailer", "upgrade", "proxy-authenticate", "proxy-authorization", "content-length");

    private FramingHeaders() {
    }

    /**
     * {@code reply} without the fields in {@link #NEVER}, and without the upstream's own fields
     * that its {@code Connection} header names (hop-by-hop by declaration). A field the reply adds
     * itself (a session cookie) stays even when the upstream's Connection names that field: only
     * fields equal to one of the upstream's (name and value) are the upstream's.
     */
    public static List<HttpHeader> strip(List<HttpHeader> upstream, List<HttpHeader> reply) {
        Set<String> named = namedByConnection(upstream);
        List<HttpHeader> out = new ArrayList<>(reply.size());
        for (HttpHeader h : reply) {
            String name = h.name().toLowerCase(Locale.ROOT);
            if (NEVER.contains(name) || named.contains(name) && upstream.contains(h)) {
                continue;
            }
            out.add(h);
        }
        return out;
    }

    private static Set<String> namedByConnection(List<HttpHeader> upstream) {
        Set<String> named = new HashSet<>();
        for (HttpHeader h : upstream) {
            if (h.is("Connection") && h.value() != null) {
                for (String token : h.value().split(",")) {
                    String name = token.trim().toLowerCase(Locale.ROOT);
                    if (!name.isEmpty()) {
                        named.add(name);
                    }
                }
            }
        }
        return named;
    }
}
