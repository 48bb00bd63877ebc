package io.github.apisixsession.core;

import java.util.List;

/**
 * The engine's view of an HTTP request, whatever the host. Header names are case-insensitive and
 * repeated headers are kept in order. {@link #variable} and {@link #body} may cost a round trip to
 * the gateway, so the engine asks for them only when a decision needs them.
 */
public interface RequestView {

    /** Upper-case method, e.g. {@code GET}. */
    String method();

    /** The path without the query string. */
    String path();

    /**
     * Values of query argument {@code name} in order; an argument given without a value
     * ({@code ?session_logout}) yields one empty string; absent yields an empty list.
     */
    List<String> queryArgs(String name);

    /** Every value of header {@code name}, in order; empty when absent. */
    List<String> headers(String name);

    /** Every header, in order. */
    List<HttpHeader> allHeaders();

    /** The client address as text (IPv4 dotted or IPv6), or empty when unknown. */
    String remoteAddress();

    /**
     * A gateway variable such as {@code consumer_name} or {@code request_id}; empty when the
     * gateway has no value. May block on a round trip.
     *
     * @throws GatewayException when the gateway connection fails
     */
    String variable(String name) throws GatewayException;

    /**
     * The request body; empty when there is none. May block on a round trip.
     *
     * @throws GatewayException when the gateway connection fails
     */
    byte[] body() throws GatewayException;
}
