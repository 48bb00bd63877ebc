package io.github.apisixsession.runner;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.codec.ClientAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.apisix.plugin.runner.HttpRequest;

/**
 * An {@link HttpRequest} of runner 0.4.0 as the engine sees it. The runner keeps one value per
 * header and argument name; cookies are read from {@code $http_cookie} (every {@code Cookie}
 * header joined by nginx, as HTTP/2 clients send one per cookie) and fall back to the header.
 * Variables were fetched by the runner before the filter ran ({@code requiredVars()}).
 */
final class RunnerRequestView implements RequestView {

    static final String COOKIE_VAR = "http_cookie";

    private final HttpRequest request;

    RunnerRequestView(HttpRequest request) {
        this.request = request;
    }

    @Override
    public String method() {
        return request.getMethod().name();
    }

    @Override
    public String path() {
        String path = request.getPath();
        return path == null ? "" : path;
    }

    @Override
    public List<String> queryArgs(String name) {
        return matching(request.getArgs(), name);
    }

    @Override
    public List<String> headers(String name) {
        if ("cookie".equalsIgnoreCase(name)) {
            String joined = RunnerVars.decode(request.getVars(COOKIE_VAR));
            if (!joined.isEmpty()) {
                return List.of(joined);
            }
        }
        return matching(request.getHeaders(), name);
    }

    @Override
    public List<HttpHeader> allHeaders() {
        List<HttpHeader> all = new ArrayList<>();
        Map<String, String> headers = request.getHeaders();
        if (headers != null) {
            headers.forEach((k, v) -> all.add(new HttpHeader(k, v == null ? "" : v)));
        }
        return all;
    }

    /**
     * Runner 0.4.0 prints {@code src_ip} as dotted byte values (4 of them for IPv4, 16 for IPv6);
     * the bytes are rendered as nginx prints {@code $remote_addr}, as the other phase sees it.
     */
    @Override
    public String remoteAddress() {
        String ip = request.getSourceIP();
        if (ip == null) {
            return "";
        }
        String[] parts = ip.split("\\.");
        if (parts.length != 4 && parts.length != 16) {
            return ClientAddress.canonical(ip);
        }
        byte[] bytes = new byte[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                bytes[i] = (byte) Integer.parseInt(parts[i]);
            }
        } catch (NumberFormatException e) {
            return ip;
        }
        return ClientAddress.of(bytes);
    }

    @Override
    public String variable(String name) {
        return RunnerVars.decode(request.getVars(name));
    }

    /** The runner fetches no body for this filter ({@code read_body_for_logout} is refused). */
    @Override
    public byte[] body() {
        return RunnerVars.bytes(request.getBody());
    }

    private static List<String> matching(Map<String, String> entries, String name) {
        if (entries == null) {
            return List.of();
        }
        List<String> values = new ArrayList<>(1);
        for (Map.Entry<String, String> e : entries.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name)) {
                values.add(e.getValue() == null ? "" : e.getValue());
            }
        }
        return values;
    }
}
