package io.github.apisixsession.core;

import java.util.List;

/**
 * The reply to a response-phase call. APISIX applies only the headers a post-resp reply carries
 * and drops every upstream header (Content-Type included) once the reply sets any, so
 * {@code headers} is always the complete list the client should see, never a delta.
 *
 * @param status  0 keeps the upstream's status
 * @param headers the full header list for the client
 * @param body    the engine's own answer in place of the upstream's body (a failure it reports), or
 *                null: the upstream's body
 */
public record ResponseDecision(int status, List<HttpHeader> headers, byte[] body) {

    public ResponseDecision {
        headers = List.copyOf(headers);
        body = body == null ? null : body.clone();
    }

    /** The upstream's response with these status and headers. */
    public ResponseDecision(int status, List<HttpHeader> headers) {
        this(status, headers, null);
    }

    /** The engine answers instead of the upstream: {@code {"message": …}} with {@code status}. */
    public static ResponseDecision answer(RequestDecision.Respond respond) {
        return new ResponseDecision(respond.status(), respond.headers(), respond.body());
    }
}
