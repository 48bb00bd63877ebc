package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.ExtPluginConf;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Shared setup of the end-to-end tests: the runner jar (system property {@code runnerJar}) started
 * as a process, a simulated APISIX in front of it with consumers {@code fiona} (key
 * {@code open_sesame}) and {@code anon} (key-auth's anonymous consumer), and session confs.
 */
final class E2e {
    static final String SECRET = "e2e-secret-7f3c1a9b5d2e4f60a8b7c6d5e4f3a2b1";
    static final String FIONA_KEY = "open_sesame";
    static final String FIONA_CREDENTIAL = "cred-fiona";
    /** A second real consumer, added by {@link #gatewayWithGeorge}. */
    static final String GEORGE_KEY = "george-key";
    static final ObjectMapper JSON = new ObjectMapper();

    private E2e() {
    }

    /**
     * A runner with {@code SESSION_SECRET} in its environment and a small heap; a JVM on a busy
     * machine may take longer than the default 30 s to listen.
     */
    static RunnerProcess.Builder runner() {
        return RunnerProcess.fromSystemProperty()
                .env("SESSION_SECRET", SECRET)
                .jvmArg("-Xmx256m")
                .startTimeout(Duration.ofSeconds(90));
    }

    static RunnerProcess start() {
        return start(runner());
    }

    static RunnerProcess start(RunnerProcess.Builder b) {
        try {
            return b.start();
        } catch (IOException e) {
            throw new AssertionError("runner did not start: " + e.getMessage(), e);
        }
    }

    /** A gateway with consumers fiona and anon. */
    static SimulatedApisix gateway(RunnerProcess runner) {
        return SimulatedApisix.in(runner)
                .consumer(Consumer.of("fiona", FIONA_KEY).withCredentialId(FIONA_CREDENTIAL))
                .consumer("anon", "anon-key-never-sent");
    }

    /** A gateway with consumers fiona, george (key {@link #GEORGE_KEY}) and anon. */
    static SimulatedApisix gatewayWithGeorge(RunnerProcess runner) {
        return gateway(runner).consumer("george", GEORGE_KEY);
    }

    /** Closes the gateway and the runner of a test class; either may be null. */
    static void close(SimulatedApisix apisix, RunnerProcess runner) {
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
    }

    /** How many threads the process has ({@code /proc/<pid>/task}). */
    static int threadCount(long pid) {
        return entries(Path.of("/proc", Long.toString(pid), "task"));
    }

    /** How many files and sockets the process has open ({@code /proc/<pid>/fd}). */
    static int openFileCount(long pid) {
        return entries(Path.of("/proc", Long.toString(pid), "fd"));
    }

    private static int entries(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code jcmd <pid> <command>} (the test JVM's own), asserts it succeeded, returns its output. */
    static String jcmd(long pid, String command) {
        try {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(pid), command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "jcmd " + command + ": " + out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * The runner logged no error: no {@code [ERROR]} line and no stack trace. Warnings are allowed
     * (deprecated options log one).
     */
    static void assertNoRunnerErrors(RunnerProcess runner) {
        StringBuilder bad = new StringBuilder();
        for (String line : runner.logs().split("\n")) {
            if (line.contains("[ERROR]") || line.contains("Exception") || line.startsWith("\tat ")) {
                bad.append(line).append('\n');
            }
        }
        assertTrue(bad.length() == 0, "runner errors:\n" + bad + "\n--- runner output\n" + runner.logs());
    }

    /** 200 and the upstream saw {@code expected} as the consumer (null: no identity). */
    static void assertOk(Exchange ex, RunnerProcess runner, String expected) {
        assertEquals(200, ex.status(), why(ex, runner));
        assertTrue(ex.upstreamCalled(), "the upstream is called\n" + why(ex, runner));
        assertEquals(expected, ex.upstreamHeader("X-Consumer-Username"), why(ex, runner));
    }

    /** The parsed Set-Cookie for cookie {@code name}, or null. */
    static SetCookie setCookie(Exchange ex, String name) {
        String sc = ex.response().setCookie(name);
        return sc == null ? null : SetCookie.parse(sc);
    }

    /** The session conf: the secret plus {@code kv} pairs (a null value removes a key). */
    static String conf(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("secret", SECRET);
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i + 1] == null) {
                m.remove((String) kv[i]);
            } else {
                m.put((String) kv[i], kv[i + 1]);
            }
        }
        return json(m);
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static ExtPluginConf session(String confJson) {
        return ExtPluginConf.of("session", confJson);
    }

    /**
     * {@code identity: "apisix"}: key-auth with anonymous consumer {@code anon}, then the session
     * plugin in ext-plugin-post-req.
     */
    static Route apisixRoute(String uri, Object... kv) {
        Object[] all = new Object[kv.length + 4];
        all[0] = "identity";
        all[1] = "apisix";
        all[2] = "anonymous_consumer";
        all[3] = "anon";
        System.arraycopy(kv, 0, all, 4, kv.length);
        return Route.uri(uri)
                .keyAuth(KeyAuth.withAnonymous("anon"))
                .postReq(session(conf(all)))
                .upstream(req -> UpstreamResponse.json("{\"ok\":true}").header("X-Up", "upstream-value"));
    }

    /** Logs fiona in with her key on {@code uri}; returns a jar holding the session cookie. */
    static CookieJar login(SimulatedApisix apisix, RunnerProcess runner, String uri) {
        Exchange ex = apisix.send(ClientRequest.get(uri).apikey(FIONA_KEY));
        assertEquals(200, ex.status(), why(ex, runner));
        assertNotNull(sessionSetCookie(ex), "a session cookie is issued\n" + why(ex, runner));
        return new CookieJar().update(ex.response());
    }

    /** The parsed Set-Cookie for the cookie {@code session}, or null. */
    static SetCookie sessionSetCookie(Exchange ex) {
        String sc = ex.response().setCookie("session");
        return sc == null ? null : SetCookie.parse(sc);
    }

    /** A request that carries only the jar's cookies (no apikey: key-auth falls back to anon). */
    static ClientRequest withCookies(String uri, CookieJar jar) {
        return ClientRequest.get(uri).cookies(jar);
    }

    static void assertIdentity(Exchange ex, RunnerProcess runner, String expected) {
        assertTrue(ex.upstreamCalled(), "the upstream is called\n" + why(ex, runner));
        assertEquals(expected, ex.upstreamHeader("X-Consumer-Username"), why(ex, runner));
    }

    /** The transcript and the tail of the runner's output, for assertion messages. */
    static String why(Exchange ex, RunnerProcess runner) {
        String logs = runner == null ? "" : runner.logs();
        if (logs.length() > 4000) {
            logs = "…" + logs.substring(logs.length() - 4000);
        }
        return "--- transcript\n" + (ex == null ? "" : ex.transcriptText()) + "\n--- runner output\n" + logs;
    }

    /**
     * Moves the runner's clock half a second into its next whole second, where a test logs in (a
     * client rarely hits a second's start; cookie times are whole seconds); returns that second.
     */
    static long midSecond(ClockFile clock) {
        Instant next = clock.now().plusSeconds(1).truncatedTo(ChronoUnit.SECONDS);
        return clock.advanceTo(next.plusMillis(500)).getEpochSecond();
    }

    /** Moves the runner's clock to a tenth of a second into {@code second}, where a test checks a rule. */
    static void at(ClockFile clock, long second) {
        clock.advanceTo(Instant.ofEpochSecond(second, 100_000_000));
    }

    /** A loopback port free now (another process may take it before the caller binds it). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleepSeconds(double s) {
        try {
            Thread.sleep((long) (s * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
