package io.github.apisixsession.core;

import java.util.List;

/**
 * The reply to a response-phase call. APISIX applies only the headers a post-resp reply carries
 * and drops every upstream header (Content-Type included) once the reply sets any, so
 * {@code headers} is always the complete list the client should see, never a delta.
 *
 * @param status  0 keeps the upstream's status
 * @param headers the full header list for the client
 */
public record ResponseDecision(int status, List<HttpHeader> headers) {

    public ResponseDecision {
        headers = List.copyOf(headers);
    }
}
