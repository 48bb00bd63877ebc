package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.ExtPluginConf;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Error that leaves the JVM untrustworthy (OutOfMemoryError) ends the runner with status 70,
 * so that APISIX starts a fresh one; a plugin's StackOverflowError stays an error frame (503) and
 * the runner serves on.
 */
class FatalErrorIT {

    @TempDir
    Path lib;

    /** A jar holding {@link FailingPlugin} and its ServiceLoader registration. */
    private void failingPluginJar() throws IOException {
        String resource = FailingPlugin.class.getName().replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(lib.resolve("failing-plugin.jar"));
                JarOutputStream jar = new JarOutputStream(file);
                InputStream bytes = FailingPlugin.class.getClassLoader().getResourceAsStream(resource)) {
            jar.putNextEntry(new JarEntry(resource));
            bytes.transferTo(jar);
            jar.putNextEntry(new JarEntry("META-INF/services/io.github.apisixsession.apisix.ExtPlugin"));
            jar.write((FailingPlugin.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    private static Route failing(String uri, String how) {
        return Route.uri(uri).preReq(ExtPluginConf.of("failing", how))
                .upstream(req -> UpstreamResponse.json("{\"ok\":true}"));
    }

    @Test
    void anOutOfMemoryErrorEndsTheRunnerWithStatus70AndAStackOverflowIsA503() throws IOException {
        failingPluginJar();
        try (RunnerProcess runner = E2e.start(E2e.runner().env("SESSION_RUNNER_LIB_DIR", lib.toString()));
                SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(failing("/fine/*", "fine")).route(failing("/deep/*", "deep")).route(failing("/oom/*", "oom"));
            assertEquals(200, apisix.send(ClientRequest.get("/fine/x")).status(), runner.logs());

            Exchange deep = apisix.send(ClientRequest.get("/deep/x"));
            assertEquals(503, deep.status(), "a plugin's StackOverflowError: an error frame\n" + deep.transcriptText());
            assertTrue(deep.transcriptContains("service unavailable"), deep.transcriptText());
            assertEquals(200, apisix.send(ClientRequest.get("/fine/x")).status(), "the runner serves on");

            Exchange oom = apisix.send(ClientRequest.get("/oom/x"));
            assertEquals(503, oom.status(), oom.transcriptText());
            assertEquals(70, runner.awaitExit(Duration.ofSeconds(30)),
                    "OutOfMemoryError ends the runner (status 70) so that APISIX starts a fresh one\n" + runner.logs());
            assertTrue(runner.logs().contains("the JVM failed (java.lang.OutOfMemoryError"), runner.logs());
        }
    }
}
