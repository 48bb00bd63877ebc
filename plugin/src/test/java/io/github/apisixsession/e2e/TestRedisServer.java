package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import redis.clients.jedis.Jedis;

/**
 * A {@code redis-server} of the test's own on a free loopback port, for faults the machine's
 * shared Redis must not suffer: every write is fsynced to an append-only file in a temp dir, so a
 * killed and restarted server still has every session it acknowledged.
 */
final class TestRedisServer implements AutoCloseable {
    private final Path dir;
    final int port;
    private final boolean unixSocket;
    private Process process;

    private TestRedisServer(Path dir, int port, boolean unixSocket) {
        this.dir = dir;
        this.port = port;
        this.unixSocket = unixSocket;
    }

    /** Starts one; its callers declare {@code @RequiresService(RedisBinaries.class)}. */
    static TestRedisServer start(String name) throws Exception {
        return start(name, false);
    }

    /** Starts one that also listens on the unix socket {@link #unixSocket()}. */
    static TestRedisServer startWithUnixSocket(String name) throws Exception {
        return start(name, true);
    }

    private static TestRedisServer start(String name, boolean unixSocket) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        TestRedisServer server = new TestRedisServer(Files.createTempDirectory(name + "-"), port, unixSocket);
        server.start();
        return server;
    }

    Path unixSocket() {
        return dir.resolve("redis.sock");
    }

    /** (Re)starts the server on the same port and files; returns once it answers PING. */
    void start() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind",
                "127.0.0.1", "--dir", dir.toString(), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--logfile", dir.resolve("redis.log").toString()));
        if (unixSocket) {
            cmd.addAll(List.of("--unixsocket", unixSocket().toString(), "--unixsocketperm", "700"));
        }
        process = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Jedis j = jedis()) {
                if ("PONG".equals(j.ping())) {
                    return;
                }
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    throw new IOException("redis-server did not start: " + Files.readString(dir.resolve("stdout.log")), e);
                }
                Thread.sleep(20);
            }
        }
    }

    /** Deletes the stopped server's data (its append-only files), as a disk lost with the machine would. */
    void wipeData() throws IOException {
        assertTrue(!process.isAlive(), "the server is stopped");
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> !p.getFileName().toString().endsWith(".log")).toList()) {
                try (Stream<Path> tree = Files.walk(p)) {
                    tree.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
    }

    Jedis jedis() {
        return new Jedis("127.0.0.1", port);
    }

    /** Sends {@code kill -<name>} to the server process. */
    void signal(String name) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0, "kill -" + name);
    }

    /** Waits until the server process has exited (after a SIGKILL or SHUTDOWN). */
    void awaitExit() throws InterruptedException {
        assertTrue(process.waitFor(10, TimeUnit.SECONDS), "redis-server exited");
    }

    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            signal("CONT"); // a paused server would not act on the kill
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
