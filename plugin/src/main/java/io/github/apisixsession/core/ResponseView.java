package io.github.apisixsession.core;

import java.util.List;

/** The upstream's response as a response-phase filter sees it (headers only, no body). */
public interface ResponseView {

    int status();

    /** Every upstream header in order, repeated ones (e.g. Set-Cookie) kept. */
    List<HttpHeader> headers();

    /** As {@link RequestView#variable}. */
    String variable(String name) throws GatewayException;
}
