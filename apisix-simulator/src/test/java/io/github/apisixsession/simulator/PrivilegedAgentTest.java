package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The ext-plugin.cmd model against the stand-in runner. */
class PrivilegedAgentTest {

    private StandInRunner stand;
    private Path socket;

    @BeforeEach
    void setUp() throws IOException {
        stand = new StandInRunner();
        socket = Files.createTempDirectory(Path.of("/tmp"), "agent-").resolve("apisix-1.sock");
    }

    @AfterEach
    void tearDown() throws IOException {
        stand.close();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(socket.getParent());
    }

    private static void awaitSpawns(PrivilegedAgent agent, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (agent.spawns() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    @Test
    void aRunnerThatExitsIsSpawnedAgainThreeSecondsLater() throws Exception {
        PrivilegedAgent agent = PrivilegedAgent.start(stand.builder().socket(socket), List.of());
        try {
            agent.runner().awaitSocket();
            RunnerProcess first = agent.runner();
            first.kill();
            long killedAt = System.nanoTime();
            awaitSpawns(agent, 2);
            long respawnedAfter = System.nanoTime() - killedAt;
            assertEquals(2, agent.spawns());
            assertTrue(respawnedAfter >= PrivilegedAgent.RESPAWN_DELAY.toNanos() - 50_000_000L,
                    "not before the 3 s sleep: " + respawnedAfter / 1_000_000 + " ms");
            agent.runner().awaitSocket();
            assertTrue(agent.runner().isAlive());
        } finally {
            agent.close();
            agent.spawned().forEach(RunnerProcess::close);
        }
        assertFalse(agent.runner().isAlive(), "exit_worker stopped the runner");
    }

    @Test
    void aReloadSpawnsTheNewRunnerThenSignalsTheOldAndKillsItASecondLater() throws Exception {
        PrivilegedAgent agent = PrivilegedAgent.start(stand.builder().socket(socket).env("IGNORE_TERM", "yes"),
                List.of());
        PrivilegedAgent next = null;
        try {
            agent.runner().awaitSocket();
            RunnerProcess old = agent.runner();
            next = agent.reload();
            assertFalse(old.isAlive(), "the old runner ignored SIGTERM and was killed");
            assertEquals(137, old.awaitExit(Duration.ZERO), "SIGKILL");
            assertTrue(old.logs().contains("SIGTERM ignored"), old.logs());
            assertTrue(next.runner().isAlive(), "the new runner runs");
            next.runner().awaitSocket();
            assertEquals(1, agent.spawns(), "the exiting agent spawns no other runner");
        } finally {
            agent.spawned().forEach(RunnerProcess::close);
            if (next != null) {
                next.close();
                next.spawned().forEach(RunnerProcess::close);
            }
        }
    }
}
