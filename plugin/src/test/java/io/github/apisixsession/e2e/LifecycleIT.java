package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Killing and restarting the runner, a clean SIGTERM shutdown, and a start refused. */
class LifecycleIT {
    @Test
    void cookieStorageSessionsSurviveARestartWithTheSameSecret() throws IOException {
        try (RunnerProcess runner = E2e.start(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/app/*", "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/app/login");
            E2e.assertIdentity(apisix.send(withCookies("/app/data", jar)), runner, "fiona");

            runner.kill();
            assertFalse(runner.isAlive());
            Exchange down = apisix.send(withCookies("/app/data", jar));
            assertEquals(503, down.status(), "no runner: 503\n" + down.transcriptText());

            runner.start();
            Exchange after = apisix.send(withCookies("/app/data", jar));
            assertEquals(200, after.status(), why(after, runner));
            E2e.assertIdentity(after, runner, "fiona");
            assertTrue(after.transcriptContains("conf token not found"),
                    "the new runner did not know the old token\n" + after.transcriptText());
            assertTrue(after.transcriptContains("PrepareConf key="), after.transcriptText());
        }
    }

    @Test
    void memoryStorageSessionsDoNotSurviveARestart() throws IOException {
        try (RunnerProcess runner = E2e.start(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/app/*", "storage", "memory", "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/app/login");
            E2e.assertIdentity(apisix.send(withCookies("/app/data", jar)), runner, "fiona");

            runner.kill();
            runner.start();
            Exchange after = apisix.send(withCookies("/app/data", jar));
            assertEquals(401, after.status(), "sessions were in the old process (expected)\n" + why(after, runner));
            // and a fresh login works on the new process
            E2e.login(apisix, runner, "/app/login");
        }
    }

    @Test
    void sigtermExitsWithZeroAndRemovesTheSocket() {
        try (RunnerProcess runner = E2e.start(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/app/*"));
            E2e.login(apisix, runner, "/app/login");
            assertTrue(Files.exists(runner.socketPath()));
            int code = runner.stop(Duration.ofSeconds(30));
            // it exited by itself (stop() kills nothing; -1 would mean still running) after handling
            // the signal, not because something else ended it
            assertEquals(0, code, "exit code after SIGTERM\n" + runner.logs());
            assertTrue(runner.logs().contains("SIGTERM received, shutting down"), runner.logs());
            assertFalse(Files.exists(runner.socketPath()), "socket file removed\n" + runner.logs());
            Exchange ex = apisix.send(ClientRequest.get("/app/x"));
            assertEquals(503, ex.status());
        }
    }

    /** The test-only clock switch pointed at a file others could rewrite: the runner does not start. */
    @Test
    void aTestClockFileOthersCouldWriteStopsTheStart() throws IOException {
        try (ClockFile clock = ClockFile.create()) {
            Files.setPosixFilePermissions(clock.file().getParent(), PosixFilePermissions.fromString("rwxrwxrwx"));
            IOException e = assertThrows(IOException.class, () -> E2e.runner().clock(clock).start().close());
            assertTrue(e.getMessage().contains("exited with code 2"), e.getMessage());
            assertTrue(e.getMessage().contains("apisix-session-runner: apisix.session.testOnly.clockFile "
                    + clock.file() + ": its directory is writable by group or others"), e.getMessage());
        }
    }
}
