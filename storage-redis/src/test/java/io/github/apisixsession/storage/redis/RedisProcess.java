package io.github.apisixsession.storage.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@code redis-server} started by a test on a free loopback port, in its own temp dir, so a test
 * may stop, pause ({@code SIGSTOP}) and restart it without touching the shared server on 6379.
 */
final class RedisProcess implements AutoCloseable {

    private final Path dir;
    private final int port;
    private final List<String> extraArgs;
    private final boolean sentinel;
    private Process process;

    private RedisProcess(Path dir, int port, List<String> extraArgs, boolean sentinel) {
        this.dir = dir;
        this.port = port;
        this.extraArgs = List.copyOf(extraArgs);
        this.sentinel = sentinel;
    }

    /** A sentinel monitoring {@code master} on 127.0.0.1:{@code masterPort} with quorum 1. */
    static RedisProcess launchSentinel(String master, int masterPort) throws IOException {
        Path dir = Files.createTempDirectory("redis-sentinel-");
        int port = freePort();
        Files.writeString(dir.resolve("sentinel.conf"), String.join("\n",
                "port " + port,
                "bind 127.0.0.1",
                "dir " + dir,
                "logfile " + dir.resolve("redis.log"),
                "sentinel monitor " + master + " 127.0.0.1 " + masterPort + " 1",
                "sentinel down-after-milliseconds " + master + " 1000",
                "sentinel failover-timeout " + master + " 5000",
                "sentinel parallel-syncs " + master + " 1", ""));
        RedisProcess r = new RedisProcess(dir, port, List.of(), true);
        r.start();
        return r;
    }

    /** Starts a server; {@code args} are extra {@code redis-server} options, e.g. {@code --appendonly yes}. */
    static RedisProcess launch(String... args) throws IOException {
        Path dir = Files.createTempDirectory("redis-test-");
        RedisProcess r = new RedisProcess(dir, freePort(), List.of(args), false);
        r.start();
        return r;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    int port() {
        return port;
    }

    Path dir() {
        return dir;
    }

    /** (Re)starts the server on the same port and dir, waiting until it answers PING. */
    void start() throws IOException {
        if (sentinel) {
            process = new ProcessBuilder("redis-server", dir.resolve("sentinel.conf").toString(), "--sentinel")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
            awaitPing();
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--dir", dir.toString(), "--save", "", "--appendonly", "no",
                "--logfile", dir.resolve("redis.log").toString(), "--protected-mode", "no"));
        cmd.addAll(extraArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        awaitPing();
    }

    void awaitPing() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("redis-server exited: " + Files.readString(dir.resolve("stdout.log")) + log());
            }
            try {
                if (command("PING").startsWith("+PONG")) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            sleep(50);
        }
        throw new IOException("redis-server on port " + port + " did not answer PING: " + log());
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("redis.log"));
        } catch (IOException e) {
            return "";
        }
    }

    /** Runs {@code redis-cli -p <port> args…} and returns its output. */
    String cli(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    static String run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(cmd + " failed: " + new String(out, StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Sends one inline command and returns the first reply line (raw RESP). */
    String command(String... parts) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            StringBuilder b = new StringBuilder("*").append(parts.length).append("\r\n");
            for (String p : parts) {
                b.append('$').append(p.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(p).append("\r\n");
            }
            out.write(b.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                line.append((char) c);
            }
            return line.toString().trim();
        }
    }

    /** SIGSTOP: the process keeps its data and its sockets but answers nothing ("down", data kept). */
    void pause() throws IOException {
        signal("STOP");
    }

    /** SIGCONT. */
    void resume() throws IOException {
        signal("CONT");
    }

    private void signal(String name) throws IOException {
        try {
            Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
                throw new IOException("kill -" + name + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** Stops the server: {@code SHUTDOWN} (which writes the AOF if enabled), else a kill. */
    void stop() throws IOException {
        if (process == null || !process.isAlive()) {
            return;
        }
        try {
            command("SHUTDOWN");
        } catch (IOException e) {
            // the connection closes as the server exits
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            try {
                // a paused process must be woken up to exit cleanly
                resume();
            } catch (IOException e) {
                // killing it below is enough
            }
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        deleteTree(dir);
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp dir left behind is harmless
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
