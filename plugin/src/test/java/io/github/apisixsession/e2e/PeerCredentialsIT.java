package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import io.github.apisixsession.simulator.A6;
import io.github.apisixsession.simulator.A6Codec;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Frame;
import io.github.apisixsession.simulator.RunnerProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Who may talk to the runner (SO_PEERCRED): a process of another local user is refused before a
 * frame is read, logged once and counted; the user the local nginx workers run as is served with
 * the default allow-list; explicit lists replace that. Needs root, to run the probing client as
 * other users ({@code setpriv}), as CI does.
 */
class PeerCredentialsIT {

    /** Users no nginx worker here runs as (the lab gateway's workers run as nobody). */
    private static final int STRANGER = 54321;
    private static final int WORKER = 54322;

    private Path tools;
    private final List<Process> fakes = new ArrayList<>();

    @BeforeEach
    void needRoot() throws IOException {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (!Integer.valueOf(0).equals(uid) || !Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            String msg = "needs root and setpriv to connect as other users (CI runs as root)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(msg);
            }
            abort(msg);
        }
        tools = Files.createTempDirectory(Path.of("/tmp"), "peer-tools-");
        Files.setPosixFilePermissions(tools, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path probe = tools.resolve("Probe.java");
        Files.writeString(probe, PROBE);
        Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rw-r--r--"));
    }

    @AfterEach
    void cleanUp() throws IOException {
        for (Process p : fakes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        if (tools != null) {
            try (var files = Files.list(tools)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(tools);
        }
    }

    /**
     * Connects, sends one frame and prints what came back: "reply N" (the frame type), "closed" (the
     * runner closed the connection without a reply: end of stream, or a reset since it left the
     * frame unread) or "failed ..." (the connect failed).
     */
    private static final String PROBE = String.join("\n",
            "import java.net.*; import java.nio.*; import java.nio.channels.*; import java.nio.file.*;",
            "public class Probe {",
            "  public static void main(String[] a) throws Exception {",
            "    SocketChannel ch;",
            "    try { ch = SocketChannel.open(UnixDomainSocketAddress.of(Path.of(a[0]))); }",
            "    catch (Exception e) { System.out.println(\"failed \" + e.getMessage()); return; }",
            "    ByteBuffer b = ByteBuffer.allocate(65536);",
            "    try {",
            "      ch.write(ByteBuffer.wrap(java.util.HexFormat.of().parseHex(a[1])));",
            "      while (b.position() < 4 && ch.read(b) >= 0) { }",
            "    } catch (java.io.IOException reset) { }",
            "    System.out.println(b.position() == 0 ? \"closed\" : \"reply \" + (b.get(0) & 0xff));",
            "  }",
            "}");

    private static String frameHex(int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(4 + payload.length);
        b.put((byte) type).put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8))
                .put((byte) payload.length).put(payload);
        return HexFormat.of().formatHex(b.array());
    }

    private static String prepareConf() {
        return HexFormat.of().formatHex(A6Codec.encode(new A6.PrepareConfRequest("route#1#ext-plugin-pre-req#1",
                List.of(new Entry("noop", "")))).encode().array());
    }

    /** Runs the probe as {@code uid}; its one line of output. */
    private String probeAs(int uid, Path socket, String frameHex) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups",
                java, "-XX:-UsePerfData", "-Xshare:auto", tools.resolve("Probe.java").toString(), socket.toString(),
                frameHex);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the probe finished");
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    }

    /**
     * A stand-in nginx: a root process named nginx whose child, also named nginx, runs as
     * {@code uid} (bash copied under that name: the kernel names a process after its executable).
     */
    private void fakeNginx(int uid) throws Exception {
        Path nginx = tools.resolve("nginx");
        Files.copy(Path.of("/bin/bash"), nginx);
        Files.setPosixFilePermissions(nginx, PosixFilePermissions.fromString("rwxr-xr-x"));
        Process master = new ProcessBuilder(nginx.toString(), "-c", "setpriv --reuid=" + uid + " --regid=" + uid
                + " --clear-groups " + nginx + " -c 'sleep 300; :'; :").start();
        fakes.add(master);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (master.descendants().noneMatch(h -> h.info().command().orElse("").endsWith("/nginx")
                && ownerOf(h) == uid)) {
            assertTrue(System.nanoTime() < deadline, "the fake nginx worker started");
            Thread.sleep(20);
        }
    }

    private static int ownerOf(ProcessHandle h) {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc", Long.toString(h.pid())), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static RunnerProcess runner(RunnerProcess.Builder b, int metricsPort) throws IOException {
        RunnerProcess r = E2e.start(b.env("SESSION_METRICS_ADDRESS", "127.0.0.1:" + metricsPort));
        // the runner's own folder is private (0700): let other users reach the socket in it
        Files.setPosixFilePermissions(r.socketPath().getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        return r;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String metrics(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    private static long occurrences(String text, String part) {
        return text.lines().filter(l -> l.contains(part)).count();
    }

    @Test
    void anotherLocalUserIsRefusedOnceLoggedAndCountedAndTheNginxWorkersUserIsServed() throws Exception {
        int port = freePort();
        try (RunnerProcess runner = runner(E2e.runner(), port)) {
            Path socket = runner.socketPath();
            assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)),
                    "the socket is open to every user: the peer check decides");

            assertEquals("closed", probeAs(STRANGER, socket, prepareConf()), "a stranger gets no reply\n" + runner.logs());
            assertEquals("closed", probeAs(STRANGER, socket, prepareConf()), "nor the second time");
            assertEquals(1, occurrences(runner.logs(), "refused a connection from user " + STRANGER),
                    "logged once per user\n" + runner.logs());
            assertTrue(metrics(port).contains("apisix_session_runner_connections_refused_total{reason=\"peer\"} 2"),
                    metrics(port));

            assertEquals("closed", probeAs(WORKER, socket, prepareConf()), "no nginx runs as " + WORKER + " yet");
            fakeNginx(WORKER);
            Thread.sleep(1100); // WORKER was refused a moment ago: looked for again a second later
            assertEquals("reply " + Frame.RPC_PREPARE_CONF, probeAs(WORKER, socket, prepareConf()),
                    "the nginx workers' user is served\n" + runner.logs());
            assertEquals("closed", probeAs(STRANGER, socket, prepareConf()), "the stranger still is not");

            byte[] magic = "apisix-session-runner handover ".getBytes(StandardCharsets.US_ASCII);
            byte[] export = java.util.Arrays.copyOf(magic, magic.length + 1);
            export[magic.length] = 2;
            String handover = frameHex(0x5A, export);
            assertEquals("reply " + Frame.RPC_ERROR, probeAs(WORKER, socket, handover),
                    "only the runner's own user (or root) may take its confs over");
            assertTrue(runner.logs().contains("refused a handover request from user " + WORKER), runner.logs());
            assertEquals("reply " + Frame.RPC_PREPARE_CONF, probeAs(0, socket, prepareConf()), "root is served");
        }
    }

    @Test
    void explicitListsReplaceTheDiscovery() throws Exception {
        fakeNginx(WORKER);
        try (RunnerProcess runner = runner(E2e.runner().env("SESSION_RUNNER_ALLOW_UIDS", Integer.toString(STRANGER)),
                freePort())) {
            Path socket = runner.socketPath();
            assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            assertEquals("reply " + Frame.RPC_PREPARE_CONF, probeAs(STRANGER, socket, prepareConf()), "a listed user");
            assertEquals("closed", probeAs(WORKER, socket, prepareConf()),
                    "the nginx workers' user is not looked for once a list is given\n" + runner.logs());
        }
    }

    @Test
    void anAllowedGroupMakesTheSocketThatGroupsOnly() throws Exception {
        int group = WORKER + 1;
        try (RunnerProcess runner = runner(E2e.runner().env("SESSION_RUNNER_ALLOW_GIDS", Integer.toString(group)),
                freePort())) {
            Path socket = runner.socketPath();
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            assertEquals(group, Files.getAttribute(socket, "unix:gid"), "the socket belongs to the allowed group");
            assertEquals("reply " + Frame.RPC_PREPARE_CONF, probeAsGroup(WORKER + 2, group, socket),
                    "a process of the allowed group is served");
            assertTrue(probeAs(STRANGER, socket, prepareConf()).startsWith("failed"),
                    "any other user cannot even open the socket file (0660)");
        }
    }

    private String probeAsGroup(int uid, int gid, Path socket) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", java,
                "-XX:-UsePerfData", tools.resolve("Probe.java").toString(), socket.toString(), prepareConf())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    }
}
