package io.github.apisixsession.simulator;

import java.util.List;
import java.util.Locale;

/**
 * How nginx writes the response head, as measured on APISIX 3.18 (apisix-real-gateway.md §5, §10):
 * its own {@code Content-Type}, then its framing ({@code Content-Length}, or
 * {@code Transfer-Encoding: chunked} when the length is unknown and the client speaks HTTP/1.1),
 * then its {@code Connection}, then every other header set on the response in order, verbatim. A
 * {@code Transfer-Encoding}, {@code Connection} or {@code Keep-Alive} that a plugin set (an
 * HTTPRespCall reply) is therefore sent a second time next to nginx's own. {@code Content-Type} and
 * {@code Content-Length} set by a plugin are nginx's built-in fields: the last one set is sent, once.
 */
final class NginxOutput {

    /** The client's side of the exchange. */
    record Client(String method, String httpVersion, boolean wantsKeepAlive) {

        static Client of(String method, String httpVersion, HttpHeaders requestHeaders) {
            String connection = String.join(",", requestHeaders.getAll("connection")).toLowerCase(Locale.ROOT);
            boolean http11 = "HTTP/1.1".equals(httpVersion);
            boolean keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
            return new Client(method, httpVersion, keepAlive);
        }

        boolean http10() {
            return "HTTP/1.0".equals(httpVersion);
        }
    }

    private NginxOutput() {
    }

    /**
     * The response as the client receives it.
     *
     * @param headersOut       the headers set on the response ({@code ngx.header}, upstream's), in order
     * @param body             what was output
     * @param lengthFromBuffer whether ngx_lua buffered the whole output (HTTP/1.0 without a length,
     *                         {@code lua_http10_buffering}) and so knows its length at the end
     */
    static ClientResponse send(Client client, int status, HttpHeaders headersOut, byte[] body,
                               boolean lengthFromBuffer) {
        boolean head = "HEAD".equals(client.method());
        boolean noContent = status < 200 || status == 204 || status == 304;
        String contentType = last(headersOut, "content-type");
        Long length = contentLength(headersOut);
        // ngx_lua buffers HTTP/1.0 output without a length, counts it, sends the head, then the
        // buffer: for a 204 or 304 too, whose header-only flag nginx's header filter sets too late
        // (measured on APISIX 3.18, lua-nginx-module 0.10.23); a HEAD is header-only from the start
        boolean buffered = length == null && lengthFromBuffer && client.http10() && !head && body.length > 0;
        if (buffered && status != 204) {
            length = (long) body.length;
        }
        if (status == 204) {
            // ngx_http_header_filter clears a 204's type and counted length; a Content-Length a
            // plugin set stays in the header list and is sent (measured)
            contentType = null;
        }
        boolean headerOnly = head || noContent && !buffered;
        boolean chunked = length == null && !client.http10() && !head && !noContent;
        boolean keepAlive = client.wantsKeepAlive() && (length != null || chunked || headerOnly);
        HttpHeaders out = new HttpHeaders();
        if (contentType != null) {
            out.add("Content-Type", contentType);
        }
        if (length != null) {
            out.add("Content-Length", Long.toString(length));
        } else if (chunked) {
            out.add("Transfer-Encoding", "chunked");
        }
        out.add("Connection", keepAlive ? "keep-alive" : "close");
        for (Entry e : headersOut) {
            String name = e.name().toLowerCase(Locale.ROOT);
            if (!name.equals("content-type") && !name.equals("content-length")) {
                out.add(e.name(), e.value());
            }
        }
        return new ClientResponse(status, out, headerOnly ? new byte[0] : body);
    }

    private static String last(HttpHeaders headers, String name) {
        List<String> all = headers.getAll(name);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** nginx's {@code content_length_n}: the last Content-Length set, if it is a number. */
    private static Long contentLength(HttpHeaders headers) {
        String v = last(headers, "content-length");
        if (v == null) {
            return null;
        }
        try {
            long n = Long.parseLong(v.trim());
            return n < 0 ? null : n;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
