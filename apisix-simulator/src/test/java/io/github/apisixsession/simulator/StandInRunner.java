package io.github.apisixsession.simulator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * A tiny stand-in for a runner, run with the JDK's source launcher: prints its environment,
 * exits 3 with FAIL=yes, ignores SIGTERM with IGNORE_TERM=yes, else binds APISIX_LISTEN_ADDRESS
 * and accepts (and closes) connections until SIGTERM.
 */
final class StandInRunner implements AutoCloseable {
    private static final String PROGRAM = String.join("\n",
            "import java.net.*; import java.nio.channels.*; import java.nio.file.*;",
            "public class Stand {",
            "  public static void main(String[] a) throws Exception {",
            "    String addr = System.getenv(\"APISIX_LISTEN_ADDRESS\");",
            "    System.out.println(\"expire=\" + System.getenv(\"APISIX_CONF_EXPIRE_TIME\") + \" extra=\" + System.getenv(\"EXTRA\"));",
            "    if (\"yes\".equals(System.getenv(\"FAIL\"))) { System.out.println(\"bad config: secret\"); System.exit(3); }",
            "    if (\"yes\".equals(System.getenv(\"IGNORE_TERM\"))) {",
            "      sun.misc.Signal.handle(new sun.misc.Signal(\"TERM\"), s -> System.out.println(\"SIGTERM ignored\")); }",
            "    Path p = Paths.get(addr.substring(5)); Files.deleteIfExists(p);",
            "    ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);",
            "    s.bind(UnixDomainSocketAddress.of(p));",
            "    Runtime.getRuntime().addShutdownHook(new Thread(() -> { try { s.close(); Files.deleteIfExists(p); } catch (Exception e) {} }));",
            "    System.out.println(\"listening\");",
            "    while (true) { s.accept().close(); }",
            "  }",
            "}");

    private final Path dir;
    private final Path source;

    StandInRunner() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "rptest-");
        source = dir.resolve("Stand.java");
        Files.writeString(source, PROGRAM);
    }

    RunnerProcess.Builder builder() {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        return RunnerProcess.builder(Path.of("unused.jar")).command(List.of(java, source.toString()));
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() throws IOException {
        Files.deleteIfExists(source);
        Files.deleteIfExists(dir);
    }
}
