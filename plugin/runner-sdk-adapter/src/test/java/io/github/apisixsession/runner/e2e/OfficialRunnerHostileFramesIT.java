package io.github.apisixsession.runner.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.FrameBarrage;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A smaller {@link FrameBarrage} against the official runner 0.4.0 hosting our filter. What is
 * asserted is what our filter answers for: the session flow works after the barrage (on a restarted
 * runner if the barrage killed it), no stack trace is thrown by our code, and the secret is never logged. The runner's own reactions (replies, closes, connections left open,
 * threads, fds, its log) are printed as observations: they are the runner's business.
 * {@code -Dhostile.seed} and {@code -Dhostile.tries} (default 80) as in HostileFramesIT.
 */
class OfficialRunnerHostileFramesIT {

    static final long SEED = Long.getLong("hostile.seed", 20261122L);
    static final int TRIES = Integer.getInteger("hostile.tries", 80);

    @Test
    void ourFilterKeepsWorkingOnTheOfficialRunnerAfterHostileFrames() throws Exception {
        String conf = SessionFlowsSuite.conf("identity", "apisix", "anonymous_consumer", "anon", "reject_status", 401);
        try (RunnerProcess runner = Host.OFFICIAL.start();
             SimulatedApisix apisix = SimulatedApisix.in(runner)
                     .consumer(Consumer.of("fiona", SessionFlowsSuite.FIONA_KEY))
                     .consumer("anon", "anon-key-never-sent")) {
            apisix.route(Host.OFFICIAL.session(Route.uri("/app/*").keyAuth(KeyAuth.withAnonymous("anon"))
                    .upstream(SessionFlowsSuite::app), false, conf, false));
            CookieJar jar = login(apisix, runner);
            assertFiona(apisix.send(ClientRequest.get("/app/data").cookies(jar)), runner);
            long pid = runner.pid();
            apisix.pool().clear();
            Thread.sleep(500);
            String before = counts(pid);

            FrameBarrage barrage = new FrameBarrage(runner.socketPath(), SEED, List.of(new Entry("session", conf)),
                    List.of(new Entry("cookie", "session=" + jar.get("session"))), Duration.ofSeconds(5))
                    .skipStrayPrepareConfReplies(Duration.ofMillis(300));
            long t0 = System.nanoTime();
            FrameBarrage.Report report = barrage.run(TRIES, 2);
            FrameBarrage.Report stuck = barrage.stuck(30, 5, Duration.ofSeconds(5));
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean alive = runner.isAlive();
            Thread.sleep(500);
            String after = alive ? counts(pid) : "(dead)";

            System.out.println("[OfficialRunnerHostileFramesIT] seed " + SEED + ", tries " + TRIES + ", "
                    + String.format("%.1f s", seconds));
            System.out.println("[OfficialRunnerHostileFramesIT] barrage: " + report);
            System.out.println("[OfficialRunnerHostileFramesIT] stuck: " + stuck);
            System.out.println("[OfficialRunnerHostileFramesIT] alive after: " + alive + "; before " + before
                    + "; after " + after);
            System.out.println("[OfficialRunnerHostileFramesIT] runner log lines by shape: " + shapes(runner));

            if (!alive) {
                System.out.println("[OfficialRunnerHostileFramesIT] OBSERVED: the official runner died; restarting it");
                runner.start();
            }
            // our filter still serves: the old session and a new login
            assertFiona(apisix.send(ClientRequest.get("/app/data").cookies(jar)), runner);
            CookieJar fresh = login(apisix, runner);
            assertFiona(apisix.send(ClientRequest.get("/app/data").cookies(fresh)), runner);
            assertEquals(TRIES, report.sentTotal(), "every try ran");

            // a stack trace is ours when its topmost runner-or-ours frame is ours (the adapter's
            // handler merely passes every call on to the runner's, so it is in most of them)
            StringBuilder ours = new StringBuilder();
            String exception = null;
            boolean judged = false;
            int traces = 0;
            for (String line : runner.logs().split("\n")) {
                if (line.contains(Host.SECRET)) {
                    ours.append("the secret: ").append(line).append('\n');
                }
                if (!line.startsWith("\tat ")) {
                    exception = line;
                    judged = false;
                    continue;
                }
                if (judged) {
                    continue;
                }
                if (line.startsWith("\tat org.apache.apisix.")) {
                    judged = true;
                    traces++;
                } else if (line.startsWith("\tat io.github.apisixsession.")) {
                    judged = true;
                    traces++;
                    ours.append(exception).append('\n').append(line).append('\n');
                }
            }
            System.out.println("[OfficialRunnerHostileFramesIT] stack traces thrown by the runner's own code: " + traces
                    + ", by ours: " + (ours.length() == 0 ? 0 : ours.toString().split("\n").length / 2));
            assertTrue(ours.length() == 0, "a stack trace thrown by our code, or the secret, in the log:\n" + ours
                    + "\n--- runner\n" + runner.logs());
        }
    }

    private static CookieJar login(SimulatedApisix apisix, RunnerProcess runner) {
        Exchange ex = apisix.send(ClientRequest.get("/app/login").apikey(SessionFlowsSuite.FIONA_KEY));
        assertEquals(200, ex.status(), ex.transcriptText() + "\n" + runner.logs());
        assertNotNull(ex.response().setCookie("session"), ex.transcriptText());
        return new CookieJar().update(ex.response());
    }

    private static void assertFiona(Exchange ex, RunnerProcess runner) {
        assertEquals(200, ex.status(), ex.transcriptText() + "\n" + runner.logs());
        assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), ex.transcriptText() + "\n" + runner.logs());
    }

    private static String counts(long pid) throws IOException {
        return "threads=" + count(Path.of("/proc/" + pid + "/task")) + " fds=" + count(Path.of("/proc/" + pid + "/fd"));
    }

    private static long count(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    /** WARN/ERROR lines and exception lines, numbers blanked, counted. */
    static Map<String, Long> shapes(RunnerProcess runner) {
        Map<String, Long> m = new TreeMap<>();
        for (String line : runner.logs().split("\n")) {
            if (line.contains("WARN") || line.contains("ERROR") || line.contains("Exception")) {
                String s = line.replaceAll("^[0-9-]+ [0-9:.]+ +", "").replaceAll("[0-9]+", "N");
                m.merge(s.length() > 160 ? s.substring(0, 160) + "…" : s, 1L, Long::sum);
            }
        }
        return m;
    }
}
