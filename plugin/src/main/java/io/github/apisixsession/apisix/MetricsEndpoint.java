package io.github.apisixsession.apisix;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * {@code GET /metrics} in Prometheus' text format, on a loopback address only
 * ({@code SESSION_METRICS_ADDRESS}, e.g. {@code 127.0.0.1:9464}): the numbers describe traffic,
 * so they are not offered to the network.
 */
public final class MetricsEndpoint implements AutoCloseable {

    private final HttpServer server;

    private MetricsEndpoint(HttpServer server) {
        this.server = server;
    }

    /**
     * @param address {@code host:port} with a loopback host
     * @throws IllegalArgumentException for a malformed or non-loopback address
     */
    public static MetricsEndpoint start(String address, PrometheusMetrics metrics) throws IOException {
        InetSocketAddress bind = parse(address);
        HttpServer server = HttpServer.create(bind, 16);
        server.createContext("/metrics", exchange -> {
            try (exchange) {
                if (!"GET".equals(exchange.getRequestMethod())) {
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                byte[] body = metrics.render().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "metrics-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return new MetricsEndpoint(server);
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    static InetSocketAddress parse(String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("SESSION_METRICS_ADDRESS must be host:port, e.g. 127.0.0.1:9464");
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SESSION_METRICS_ADDRESS has no valid port");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("SESSION_METRICS_ADDRESS has no valid port");
        }
        InetAddress ip;
        try {
            ip = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("SESSION_METRICS_ADDRESS host is unknown: " + host);
        }
        if (!ip.isLoopbackAddress()) {
            throw new IllegalArgumentException("SESSION_METRICS_ADDRESS must be a loopback address (127.0.0.1, ::1)");
        }
        return new InetSocketAddress(ip, port);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
