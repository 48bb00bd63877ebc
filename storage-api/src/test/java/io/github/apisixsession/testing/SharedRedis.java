package io.github.apisixsession.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The Redis server the suite shares: {@code REDIS_HOST}:{@code REDIS_PORT}, default
 * 127.0.0.1:6379, which {@code .ci/run} starts. It is shared by everyone on the machine: tests work
 * under their own random key prefix and never flush it.
 */
public final class SharedRedis implements TestService {

    public static final String HOST = env("REDIS_HOST", "127.0.0.1");
    public static final int PORT = Integer.parseInt(env("REDIS_PORT", "6379"));

    @Override
    public String missing() {
        return missingAt(HOST, PORT);
    }

    static String missingAt(String host, int port) {
        String where = "no Redis at " + host + ":" + port;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 3000);
            s.setSoTimeout(3000);
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = firstLine(s.getInputStream());
            return reply.startsWith("+PONG") ? null
                    : where + " answering PING without a password (it said " + reply + ")";
        } catch (IOException e) {
            return where + " (" + e.getMessage() + "; bash .ci/run starts one, or set REDIS_HOST/REDIS_PORT)";
        }
    }

    private static String firstLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b >= 0 && b != '\n' && line.length() < 200; b = in.read()) {
            line.append((char) b);
        }
        return line.toString().trim();
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v.trim();
    }
}
