package io.github.apisixsession.core;

import java.util.List;

/** What to do with a request: let it through with changes, or answer it here. */
public sealed interface RequestDecision {

    /** Continue to the upstream with no change. */
    RequestDecision PROCEED = new Proceed(List.of(), List.of());

    /**
     * Continue to the upstream.
     *
     * @param requestHeaders  changes to the upstream request: a value sets (replaces) the header,
     *                        a null value removes it; applied in order
     * @param responseHeaders headers added to the client's response (e.g. Set-Cookie, repeated)
     */
    record Proceed(List<HttpHeader> requestHeaders, List<HttpHeader> responseHeaders) implements RequestDecision {
        public Proceed {
            requestHeaders = List.copyOf(requestHeaders);
            responseHeaders = List.copyOf(responseHeaders);
        }
    }

    /** Answer the client here; the upstream is not called. */
    record Respond(int status, List<HttpHeader> headers, byte[] body) implements RequestDecision {
        public Respond {
            headers = List.copyOf(headers);
            body = body == null ? new byte[0] : body.clone();
        }
    }
}
