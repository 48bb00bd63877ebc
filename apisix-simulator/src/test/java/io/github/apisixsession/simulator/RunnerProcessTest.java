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
    private static final String PROGRAM = String.join("\n",
            "import java.net.*; import java.nio.channels.*; import java.nio.file.*;",
            "public class Stand {",
            "  public static void main(String[] a) throws Exception {",
            "    String addr = System.getenv(\"APISIX_LISTEN_ADDRESS\");",
            "    System.out.println(\"expire=\" + System.getenv(\"APISIX_CONF_EXPIRE_TIME\") + \" extra=\" + System.getenv(\"EXTRA\"));",
            "    if (\"yes\".equals(System.getenv(\"FAIL\"))) { System.out.println(\"bad config: secret\"); System.exit(3); }",
            "    Path p = Paths.get(addr.substring(5)); Files.deleteIfExists(p);",
            "    ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);",
            "    s.bind(UnixDomainSocketAddress.of(p));",
            "    Runtime.getRuntime().addShutdownHook(new Thread(() -> { try { s.close(); Files.deleteIfExists(p); } catch (Exception e) {} }));",
            "    System.out.println(\"listening\");",
            "    while (true) { s.accept().close(); }",
            "  }",
            "}");

    private Path dir;
    private Path source;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "rptest-");
        source = dir.resolve("Stand.java");
        Files.writeString(source, PROGRAM);
    }

    @AfterEach
    void tearDown() throws IOException {
        Files.deleteIfExists(source);
        Files.deleteIfExists(dir);
    }

    private RunnerProcess.Builder builder() {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        return RunnerProcess.builder(Path.of("unused.jar")).command(List.of(java, source.toString()));
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
