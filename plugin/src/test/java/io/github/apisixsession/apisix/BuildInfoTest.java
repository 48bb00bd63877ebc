package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class BuildInfoTest {

    private static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void readsWhatTheBuildWrote() {
        BuildInfo info = BuildInfo.of(props("version", "0.1.0", "commit", "0123456789abcdef0123456789abcdef01234567",
                "dirty", "false", "time", "2026-11-22T04:54:59Z"));
        assertEquals(new BuildInfo("0.1.0", "0123456789abcdef0123456789abcdef01234567", false, "2026-11-22T04:54:59Z"),
                info);
        assertEquals(String.join(System.lineSeparator(), "apisix-session-runner 0.1.0",
                "commit 0123456789abcdef0123456789abcdef01234567", "built 2026-11-22T04:54:59Z"), info.versionText());
        assertEquals("apisix-session-runner 0.1.0 (commit 0123456789ab, built 2026-11-22T04:54:59Z)", info.summary());
    }

    @Test
    void aBuildWithUncommittedChangesSaysSo() {
        BuildInfo info = BuildInfo.of(props("version", "0.2.0-SNAPSHOT", "commit", "abc", "dirty", "true",
                "time", "2026-11-22T04:54:59Z"));
        assertTrue(info.versionText().contains("commit abc (with uncommitted changes)"), info.versionText());
        assertTrue(info.summary().contains("(commit abc+changes,"), info.summary());
    }

    /** Without .git the build leaves the git expressions as they are: unknown, never the raw text. */
    @Test
    void whatTheBuildCouldNotFillIsUnknown() {
        BuildInfo info = BuildInfo.of(props("version", "0.1.0", "commit", "${git.commit.id}", "dirty", "${git.dirty}",
                "time", " "));
        assertEquals(new BuildInfo("0.1.0", "unknown", false, "unknown"), info);
        assertEquals(new BuildInfo("unknown", "unknown", false, "unknown"), BuildInfo.of(new Properties()));
        assertFalse(info.versionText().contains("${"), info.versionText());
    }

    /** The resource of this build: filtered by Maven, so a real version and an ISO 8601 time. */
    @Test
    void theBundledResourceWasFilledByTheBuild() {
        BuildInfo info = BuildInfo.current();
        assertTrue(info.version().matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), info.toString());
        Instant.parse(info.builtAt());
        assertTrue(info.commit().equals(BuildInfo.UNKNOWN) || info.commit().matches("[0-9a-f]{40}"), info.toString());
    }

    @Test
    void versionOptionPrintsItAndExitsZero() {
        for (String option : new String[] {"--version", "-V", "version"}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = RunnerMain.run(new String[] {option}, Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, code, option);
            assertEquals(BuildInfo.current().versionText() + System.lineSeparator(), out.toString(StandardCharsets.UTF_8));
            assertEquals("", err.toString(StandardCharsets.UTF_8));
        }
    }
}
