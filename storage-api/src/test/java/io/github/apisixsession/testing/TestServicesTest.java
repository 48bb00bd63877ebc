package io.github.apisixsession.testing;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** The skip-or-fail policy and the probes of the built-in services. */
class TestServicesTest {

    @Test
    void aMissingServiceFailsUnderCi() {
        for (String ci : new String[] {"true", "TRUE", " true "}) {
            AssertionFailedError e = assertThrows(AssertionFailedError.class,
                    () -> MissingServicePolicy.of(Map.of("CI", ci)).missing("no Redis at 127.0.0.1:1"));
            assertTrue(e.getMessage().startsWith("no Redis at 127.0.0.1:1"), e.getMessage());
        }
    }

    @Test
    void aMissingServiceAbortsTheTestElsewhere() {
        for (Map<String, String> env : java.util.List.of(Map.<String, String>of(), Map.of("CI", "false"), Map.of("CI", ""))) {
            TestAbortedException e = assertThrows(TestAbortedException.class,
                    () -> MissingServicePolicy.of(env).missing("no Redis at 127.0.0.1:1"));
            assertTrue(e.getMessage().contains("no Redis at 127.0.0.1:1"), e.getMessage());
        }
    }

    @Test
    void anUnreachablePortIsAMissingRedis() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        String why = SharedRedis.missingAt("127.0.0.1", closed);
        assertTrue(why != null && why.startsWith("no Redis at 127.0.0.1:" + closed), why);
    }

    @Test
    void aServerThatDoesNotSpeakRedisIsAMissingRedis() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (java.net.Socket c = s.accept()) {
                    c.getOutputStream().write("-NOAUTH Authentication required.\r\n".getBytes());
                } catch (java.io.IOException ignored) {
                    // the test reports what the probe made of it
                }
            });
            t.start();
            String why = SharedRedis.missingAt("127.0.0.1", s.getLocalPort());
            t.join();
            assertTrue(why != null && why.contains("-NOAUTH"), why);
        }
    }

    @Test
    void missingProgramsAreNamed() {
        assertNull(InstalledPrograms.missing("hint", "java -version"));
        String why = InstalledPrograms.missing("apt-get install nothing", "java -version", "no-such-program-4711 --version");
        assertTrue(why.startsWith("no-such-program-4711 not installed (apt-get install nothing)"), why);
    }
}
