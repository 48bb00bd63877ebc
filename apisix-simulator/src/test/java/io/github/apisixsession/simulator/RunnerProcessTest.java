package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RunnerProcess against a tiny stand-in program run with the JDK's source launcher. */
class RunnerProcessTest {
    private StandInRunner stand;

    @BeforeEach
    void setUp() throws IOException {
        stand = new StandInRunner();
    }

    @AfterEach
    void tearDown() throws IOException {
        stand.close();
    }

    private RunnerProcess.Builder builder() {
        return stand.builder();
    }

    @Test
    void startsWithTheApisixEnvironmentAndStopsOnSigterm() throws Exception {
        try (RunnerProcess p = builder().confExpireTime(7).env("EXTRA", "x1").start()) {
            assertTrue(p.isAlive());
            assertTrue(Files.exists(p.socketPath()));
            assertTrue(p.awaitLog("listening", Duration.ofSeconds(5)));
            assertTrue(p.logs().contains("expire=7 extra=x1"), p.logs());
            int code = p.stop();
            assertTrue(code >= 0, "exited");
            assertFalse(Files.exists(p.socketPath()), "its shutdown hook removed the socket");

            p.start();
            assertTrue(p.isAlive());
            p.kill();
            assertFalse(p.isAlive());
            p.restart();
            assertTrue(p.isAlive());
            assertEquals(3, p.logs().split("=== start #").length - 1);
        }
    }

    @Test
    void aSuccessorStartsOnTheSameSocketAndIsWaitedForUntilItsSocketIsThere() throws Exception {
        try (RunnerProcess first = builder().start(); RunnerProcess next = first.successor().start()) {
            assertEquals(first.socketPath(), next.socketPath());
            assertTrue(next.isAlive());
            assertTrue(next.awaitLog("listening", Duration.ofSeconds(5)));
            first.kill(); // no shutdown hook: the stand-in would delete the path whatever names it
            first.close();
            assertTrue(Files.exists(next.socketPath()), "closing the first leaves the successor's live socket");
        }
    }

    @Test
    void aRunnerThatDiesFailsTheStartWithItsOutput() {
        IOException e = assertThrows(IOException.class, () -> builder().env("FAIL", "yes").start());
        assertTrue(e.getMessage().contains("bad config: secret"), e.getMessage());
        assertTrue(e.getMessage().contains("exited with code 3"), e.getMessage());
    }

    @Test
    void aRunnerThatNeverListensTimesOut() {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        IOException e = assertThrows(IOException.class, () -> RunnerProcess.builder(Path.of("x.jar"))
                .command(List.of("sleep", "30")).startTimeout(Duration.ofMillis(500)).start());
        assertTrue(e.getMessage().contains("did not listen"), e.getMessage() + java);
    }
}
