package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.RunnerProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The runner jar as shipped: it reports the version, commit and build time the build knew (the
 * failsafe configuration hands them over), logs them at start, carries our LICENSE and NOTICE,
 * and bundles junixsocket's native library only for Linux x86_64 and aarch64.
 */
class RunnerJarIT {
    private static final Path JAR = Path.of(System.getProperty("runnerJar", "missing-runnerJar-property"));

    /** A system property the build set; one it could not fill (no .git) reads as unknown, as the jar says. */
    private static String built(String name) {
        String v = System.getProperty(name, "");
        return v.isBlank() || v.contains("${") ? "unknown" : v;
    }

    @Test
    void versionOptionReportsWhatTheBuildKnew() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                JAR.toString(), "--version").redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "--version finished");
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().toList();
        assertEquals(3, lines.size(), out);
        assertEquals("apisix-session-runner " + built("runnerVersion"), lines.get(0));
        assertTrue(lines.get(1).equals("commit " + built("runnerCommit"))
                || lines.get(1).equals("commit " + built("runnerCommit") + " (with uncommitted changes)"), out);
        String time = lines.get(2).substring("built ".length());
        assertEquals(OffsetDateTime.parse(built("runnerBuiltAt")).toInstant(), OffsetDateTime.parse(time).toInstant(), out);
    }

    @Test
    void theStartLogNamesVersionAndCommit() {
        String commit = built("runnerCommit");
        String expected = "apisix-session-runner " + built("runnerVersion") + " (commit "
                + commit.substring(0, Math.min(12, commit.length()));
        try (RunnerProcess runner = E2e.start()) {
            assertTrue(runner.awaitLog(expected, Duration.ofSeconds(30)), "start log has «" + expected + "»:\n"
                    + runner.logs());
        }
    }

    @Test
    void carriesOurLicenceAndNotice() throws IOException {
        try (ZipFile jar = new ZipFile(JAR.toFile())) {
            assertTrue(text(jar, "META-INF/LICENSE").contains("Apache License\n                           Version 2.0"));
            assertTrue(text(jar, "META-INF/NOTICE").startsWith("apisix-session\n"), "our NOTICE, not a library's");
            for (String lib : List.of("slf4j", "jedis", "checker-qual", "pgjdbc")) {
                assertTrue(text(jar, "META-INF/licenses/LICENSE-" + lib + ".txt").contains("Copyright"), lib);
            }
        }
    }

    /** junixsocket (Redis over a unix socket) brings a JNI library for 21 platforms; APISIX runs on two. */
    @Test
    void bundlesNativeLibrariesForLinuxX8664AndAarch64Only() throws IOException {
        Set<String> platforms = new TreeSet<>();
        try (ZipFile jar = new ZipFile(JAR.toFile())) {
            for (ZipEntry e : Collections.list(jar.entries())) {
                String name = e.getName();
                if (name.matches("(?i).*\\.(so|dylib|dll|jnilib|a|srvpgm)$")) {
                    assertTrue(name.startsWith("lib/") && name.contains("/jni/"), "unexpected native library " + name);
                    platforms.add(name.substring("lib/".length(), name.indexOf('/', "lib/".length())));
                }
            }
        }
        assertEquals(Set.of("aarch64-Linux-clang", "amd64-Linux-clang"), platforms);
    }

    private static String text(ZipFile jar, String name) throws IOException {
        ZipEntry e = jar.getEntry(name);
        assertTrue(e != null, name + " is in the jar");
        return new String(jar.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8);
    }
}
