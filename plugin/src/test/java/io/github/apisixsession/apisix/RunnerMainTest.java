package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class RunnerMainTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(Map<String, String> env, String... args) {
        return RunnerMain.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void missingListenAddressExitsTwoWithAClearMessage() {
        assertEquals(2, run(Map.of()));
        assertTrue(stderr().contains("APISIX_LISTEN_ADDRESS is not set"), stderr());
        assertFalse(stderr().contains("Exception"), stderr());
    }

    @Test
    void invalidListenAddressExitsTwo() {
        assertEquals(2, run(Map.of("APISIX_LISTEN_ADDRESS", "tcp://127.0.0.1:9999")));
        assertTrue(stderr().contains("unix:/absolute/path"), stderr());
        assertEquals(2, run(Map.of("APISIX_LISTEN_ADDRESS", "unix:relative.sock")));
    }

    @Test
    void invalidNumbersAndModeExitTwo() {
        String sock = "unix:" + dir.resolve("s.sock");
        assertEquals(2, run(Map.of("APISIX_LISTEN_ADDRESS", sock, "APISIX_CONF_EXPIRE_TIME", "soon")));
        assertTrue(stderr().contains("APISIX_CONF_EXPIRE_TIME"), stderr());
        assertEquals(2, run(Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_SOCKET_MODE", "0999")));
        assertTrue(stderr().contains("SESSION_RUNNER_SOCKET_MODE"), stderr());
        assertEquals(2, run(Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_CONF_CAPACITY", "0")));
    }

    @Test
    void unknownSubcommandPrintsUsageAndExitsTwo() {
        assertEquals(2, run(Map.of(), "frobnicate"));
        assertTrue(stderr().contains("unknown command: frobnicate"), stderr());
        assertTrue(stderr().contains("usage:"), stderr());
        assertEquals(0, run(Map.of(), "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("usage:"));
    }

    @Test
    void settingsFromEnv() {
        HostSettings s = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x/apisix-1.sock",
                "APISIX_CONF_EXPIRE_TIME", "60", "SESSION_RUNNER_CONF_GRACE", "0",
                "SESSION_RUNNER_CONF_CAPACITY", "5", "SESSION_RUNNER_SOCKET_MODE", "0660"));
        assertEquals(Path.of("/tmp/x/apisix-1.sock"), s.socketPath());
        assertEquals(Duration.ofSeconds(60), s.confLifetime());
        assertEquals(5, s.confCapacity());
        assertEquals(PosixFilePermissions.fromString("rw-rw----"), s.socketMode());
        HostSettings d = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/y.sock"));
        assertEquals(Duration.ofSeconds(3610), d.confLifetime());
        assertEquals(100_000, d.confCapacity());
        assertEquals(PosixFilePermissions.fromString("rw-rw-rw-"), d.socketMode());
        assertThrows(IllegalArgumentException.class, () -> HostSettings.parseMode("1777"));
    }

    @Test
    void lifecycleAndPeerSettingsFromEnv() {
        HostSettings apisix = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x/apisix-1234.sock"));
        assertEquals(Duration.ofMillis(600), apisix.handoverWait(), "under ext-plugin.cmd: serve on after SIGTERM");
        assertTrue(apisix.takeover());
        assertEquals(Duration.ofSeconds(5), apisix.drainTimeout());
        assertTrue(apisix.peers().checksPeers());
        assertNull(apisix.peers().socketGroup());
        HostSettings byHand = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x/runner.sock"));
        assertEquals(Duration.ZERO, byHand.handoverWait(), "path_for_test: stop at once");
        HostSettings set = HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x/runner.sock",
                "SESSION_RUNNER_TAKEOVER", "false", "SESSION_RUNNER_HANDOVER_WAIT", "0.5",
                "SESSION_RUNNER_DRAIN_TIMEOUT", "2.25", "SESSION_RUNNER_ALLOW_UIDS", "nobody,0",
                "SESSION_RUNNER_ALLOW_GIDS", "root"));
        assertFalse(set.takeover());
        assertEquals(Duration.ofMillis(500), set.handoverWait());
        assertEquals(Duration.ofMillis(2250), set.drainTimeout());
        assertEquals("root", set.peers().socketGroup().getName());
        assertEquals(PosixFilePermissions.fromString("rw-rw----"), set.socketMode(), "group, not world, with a group listed");
        assertFalse(HostSettings.fromEnv(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/x/r.sock",
                "SESSION_RUNNER_ALLOW_UIDS", "any")).peers().checksPeers());
        String sock = "unix:/tmp/x/r.sock";
        for (Map<String, String> bad : List.of(
                Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_TAKEOVER", "maybe"),
                Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_HANDOVER_WAIT", "-1"),
                Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_DRAIN_TIMEOUT", "0.0001"),
                Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_ALLOW_UIDS", "no-such-user-here"),
                Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_ALLOW_GIDS", "no-such-group-here"),
                Map.of("APISIX_LISTEN_ADDRESS", sock, "SESSION_RUNNER_ALLOW_UIDS", "any,root"))) {
            err.reset();
            assertEquals(2, run(bad), bad.toString());
            String name = bad.keySet().stream().filter(k -> !k.equals("APISIX_LISTEN_ADDRESS")).findFirst().orElseThrow();
            assertTrue(stderr().contains(name), name + ": " + stderr());
        }
    }

    @Test
    void serviceLoaderFindsTheNoopPlugin() {
        List<String> names = RunnerMain.discoverPlugins().stream().map(ExtPlugin::name).toList();
        assertTrue(names.contains("noop"), names.toString());
    }

    /** The real process: serves, then on SIGTERM exits 0 and removes its socket. */
    @Test
    void processServesAndExitsZeroOnSigterm() throws Exception {
        Path socket = dir.resolve("runner.sock");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), RunnerMain.class.getName());
        pb.environment().put("APISIX_LISTEN_ADDRESS", "unix:" + socket);
        pb.redirectErrorStream(true);
        Path log = dir.resolve("runner.log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.readString(log).contains("listening on") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(socket), "socket created: " + Files.readString(log));
            try (TestGateway gw = TestGateway.connect(socket)) {
                long token = gw.prepareConf("k", "noop", "");
                assertEquals(io.github.api7.A6.HTTPReqCall.Action.NONE,
                        gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType());
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "exited");
            String output = Files.readString(log);
            assertEquals(0, p.exitValue(), output);
            assertFalse(Files.exists(socket), "socket removed");
            assertTrue(output.contains("listening on " + socket), output);
            assertTrue(output.contains("noop"), output);
            assertTrue(output.contains("[a6-"), "thread names are logged: " + output);
        } finally {
            p.destroyForcibly();
        }
    }
}
