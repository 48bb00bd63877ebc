package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.LoadRun;
import io.github.apisixsession.simulator.PrivilegedAgent;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A runner restarted while a gateway sends requests through it without pause, counting the
 * requests that fail (503): with a takeover (none may fail), and as a plain restart, as APISIX's
 * {@code ext-plugin.cmd} respawn and as an {@code apisix reload} (reported: their cost depends on
 * how fast a JVM starts here). The figures are printed as {@code [restart] ...} lines.
 */
class RestartUnderLoadIT {

    private static final int CLIENTS = 8;
    /** Requests sent before and after the restart. */
    private static final int AROUND = 300;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private Path dir;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        if (dir != null) {
            Files.deleteIfExists(dir.resolve("apisix-4242.sock"));
            Files.deleteIfExists(dir);
        }
    }

    private <T extends AutoCloseable> T closing(T c) {
        toClose.add(c);
        return c;
    }

    private static void awaitSent(LoadRun load, long n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (load.sent() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(load.sent() >= n, "the load driver sent " + load.sent() + " of " + n);
    }

    private SimulatedApisix gateway(RunnerProcess runner) {
        return closing(E2e.gateway(runner)).route(E2e.apisixRoute("/app/*", "reject_status", 401));
    }

    /** Logs in, runs the load, calls {@code restart} in the middle; the load's result. */
    private LoadRun.Result underLoad(SimulatedApisix apisix, RunnerProcess first, Restart restart) throws Exception {
        CookieJar jar = E2e.login(apisix, first, "/app/login");
        LoadRun load = LoadRun.start(apisix, () -> withCookies("/app/data", jar), CLIENTS);
        awaitSent(load, AROUND);
        restart.run();
        long after = load.sent();
        awaitSent(load, after + AROUND);
        LoadRun.Result result = load.stop();
        Exchange last = apisix.send(withCookies("/app/data", jar));
        assertEquals(200, last.status(), "the session still opens after the restart\n" + last.transcriptText());
        return result;
    }

    private interface Restart {
        void run() throws Exception;
    }

    private static void report(String what, LoadRun.Result r) {
        System.out.println("[restart] " + what + ": " + r.failed() + " of " + r.requests() + " requests failed "
                + r.failuresByCause() + " within " + r.failureWindow().toMillis() + " ms");
    }

    @Test
    void aTakeoverUnderLoadFailsNoRequest() throws Exception {
        RunnerProcess old = closing(E2e.start());
        SimulatedApisix apisix = gateway(old);
        RunnerProcess[] next = new RunnerProcess[1];
        LoadRun.Result r = underLoad(apisix, old, () -> {
            next[0] = closing(E2e.start(old.successor()));
            assertEquals(0, old.awaitExit(Duration.ofSeconds(30)),
                    "the old runner drains and exits on its own, status 0\n" + old.logs());
        });
        report("takeover", r);
        assertEquals(0, r.failed(), r + "\n" + r.firstFailureByCause());
        assertEquals(Map.of(200, r.requests()), r.byStatus());
        assertTrue(next[0].isAlive());
        assertTrue(old.logs().contains("took " + old.socketPath() + " over") || old.logs().contains("draining"),
                old.logs());
        assertTrue(next[0].logs().contains("conf tokens of the runner taken over from"), next[0].logs());
        assertTrue(Files.exists(old.socketPath()), "the old runner did not delete the new runner's socket");
    }

    @Test
    void aPlainRestartUnderLoadIsCounted() throws Exception {
        RunnerProcess runner = closing(E2e.start());
        SimulatedApisix apisix = gateway(runner);
        LoadRun.Result r = underLoad(apisix, runner, runner::restart);
        report("plain restart (SIGTERM, then a new runner)", r);
        assertTrue(r.failed() > 0, "no socket while the new JVM starts: some requests fail (" + r + ")");
        assertFalse(r.failuresByCause().containsKey("connection reset"), "no RPC reset at SIGTERM: " + r
                + "\n" + r.firstFailureByCause());
        assertFalse(r.failuresByCause().containsKey("closed during the RPC"), "no RPC cut at SIGTERM: " + r
                + "\n" + r.firstFailureByCause());
    }

    /** The runner APISIX spawned dies (SIGKILL); APISIX spawns a new one 3 s later. */
    @Test
    void anExtPluginCmdRespawnUnderLoadIsCounted() throws Exception {
        PrivilegedAgent agent = startAgent();
        SimulatedApisix apisix = toClose.stream().filter(SimulatedApisix.class::isInstance)
                .map(SimulatedApisix.class::cast).findFirst().orElseThrow();
        LoadRun.Result r = underLoad(apisix, agent.runner(), () -> {
            RunnerProcess first = agent.runner();
            first.kill();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (agent.spawns() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            agent.runner().awaitSocket();
        });
        report("ext-plugin.cmd respawn (runner killed, respawned 3 s later)", r);
        assertTrue(r.failed() > 0, r.toString());
    }

    /**
     * {@code apisix reload}: the new agent spawns a new runner while the old agent sends the old
     * runner SIGTERM at once and kills it a second later.
     */
    @Test
    void anApisixReloadUnderLoadIsCounted() throws Exception {
        PrivilegedAgent agent = startAgent();
        SimulatedApisix apisix = toClose.stream().filter(SimulatedApisix.class::isInstance)
                .map(SimulatedApisix.class::cast).findFirst().orElseThrow();
        RunnerProcess first = agent.runner();
        PrivilegedAgent[] next = new PrivilegedAgent[1];
        LoadRun.Result r = underLoad(apisix, first, () -> {
            next[0] = closing(agent.reload());
            next[0].runner().awaitSocket();
        });
        next[0].spawned().forEach(this::closing);
        report("apisix reload (ext-plugin.cmd)", r);
        assertFalse(first.isAlive(), "the old runner is gone");
        assertEquals(1, next[0].spawns(), "the new runner did not have to be respawned\n" + next[0].runner().logs());
        System.out.println("[restart] apisix reload: the old runner's exit status " + first.awaitExit(Duration.ZERO)
                + " (0: drained in time, 137: killed a second after SIGTERM)");
    }

    /** An agent on APISIX's own socket name ({@code apisix-<master pid>.sock}), and its gateway. */
    private PrivilegedAgent startAgent() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "apisix-cmd-");
        Path socket = dir.resolve("apisix-4242.sock");
        SimulatedApisix apisix = closing(new SimulatedApisix(socket))
                .consumer(io.github.apisixsession.simulator.Consumer.of("fiona", E2e.FIONA_KEY)
                        .withCredentialId(E2e.FIONA_CREDENTIAL))
                .consumer("anon", "anon-key-never-sent")
                .route(E2e.apisixRoute("/app/*", "reject_status", 401));
        PrivilegedAgent agent = PrivilegedAgent.start(E2e.runner().socket(socket), List.of(apisix));
        toClose.add(() -> {
            agent.close();
            agent.spawned().forEach(RunnerProcess::close);
        });
        agent.runner().awaitSocket();
        return agent;
    }
}
