package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.FrameBarrage;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Hostile input straight on the runner's unix socket ({@link FrameBarrage}): random bytes, random
 * bodies behind valid headers, truncated frames, unknown types, zero lengths, bit-flipped
 * PrepareConf and HTTPReqCall built with the A6 classes, unknown conf tokens, ExtraInfo answers at
 * the wrong time, and many connections left hanging mid-frame (some claiming 16 MB). Seeded:
 * {@code -Dhostile.seed=<n>} (default 20261122) and {@code -Dhostile.tries=<n>} (default 200 per round, two rounds).
 *
 * <p>What must hold: the runner stays alive; every complete frame gets one well-formed reply (an
 * error frame for what it cannot decode, after which it closes); connections stuck inside a frame
 * are closed within the frame timeout (2 s here); no thread or fd outlives its connection; a normal
 * client keeps working during and after; the log has no stack trace, no OutOfMemoryError and not
 * the secret.
 */
class HostileFramesIT {

    static final long SEED = Long.getLong("hostile.seed", 20261122L);
    static final int TRIES = Integer.getInteger("hostile.tries", 200);
    static final Duration FRAME_TIMEOUT = Duration.ofSeconds(2);

    @Test
    void theRunnerSurvivesHostileFramesWithoutLeaksAndKeepsServing() throws Exception {
        String routeConf = E2e.conf("identity", "apisix", "anonymous_consumer", "anon", "reject_status", 401);
        try (RunnerProcess runner = E2e.start(E2e.runner()
                .env("SESSION_RUNNER_FRAME_TIMEOUT", Long.toString(FRAME_TIMEOUT.toSeconds())));
             SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/app/*", "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/app/login");
            E2e.assertIdentity(apisix.send(withCookies("/app/data", jar)), runner, "fiona");
            String cookie = "session=" + jar.get("session");
            long pid = runner.pid();

            Counts before = Counts.settled(pid, apisix);
            String where = "seed " + SEED + ", tries " + TRIES + " (rerun with -Dhostile.seed=" + SEED
                    + " -Dhostile.tries=" + TRIES + ")";
            System.out.println("[HostileFramesIT] " + where + "; before: " + before);

            // a normal client all along
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger normalOk = new AtomicInteger();
            ConcurrentLinkedQueue<String> normalFailures = new ConcurrentLinkedQueue<>();
            Thread normal = new Thread(() -> {
                while (!stop.get()) {
                    Exchange ex = apisix.send(withCookies("/app/data", jar));
                    if (ex.status() == 200 && "fiona".equals(ex.upstreamHeader("X-Consumer-Username"))) {
                        normalOk.incrementAndGet();
                    } else if (normalFailures.size() < 5) {
                        normalFailures.add(ex.status() + "\n" + ex.transcriptText());
                    }
                    E2e.sleepSeconds(0.02);
                }
            }, "normal-client");
            normal.start();

            FrameBarrage barrage = new FrameBarrage(runner.socketPath(), SEED,
                    List.of(new Entry("session", routeConf)), List.of(new Entry("cookie", cookie)),
                    Duration.ofSeconds(10));
            long t0 = System.nanoTime();
            FrameBarrage.Report round1 = barrage.run(TRIES, 4);
            Counts afterRound1 = Counts.settled(pid, apisix);
            FrameBarrage.Report stuck = barrage.stuck(Math.min(200, Math.max(40, TRIES / 2)), 20, FRAME_TIMEOUT.plusSeconds(6));
            Counts afterStuck = Counts.settled(pid, apisix);
            FrameBarrage.Report round2 = new FrameBarrage(runner.socketPath(), SEED + 1,
                    List.of(new Entry("session", routeConf)), List.of(new Entry("cookie", cookie)),
                    Duration.ofSeconds(10)).run(TRIES, 4);
            double seconds = (System.nanoTime() - t0) / 1e9;
            stop.set(true);
            normal.join(TimeUnit.SECONDS.toMillis(30));
            Counts after = Counts.settled(pid, apisix);

            System.out.println("[HostileFramesIT] round 1: " + round1);
            System.out.println("[HostileFramesIT] stuck: " + stuck);
            System.out.println("[HostileFramesIT] round 2: " + round2);
            System.out.printf("[HostileFramesIT] %.1f s; normal client: %d ok, %d failed; after round 1: %s; "
                    + "after the stuck connections: %s; after: %s%n",
                    seconds, normalOk.get(), normalFailures.size(), afterRound1, afterStuck, after);
            System.out.println("[HostileFramesIT] runner log lines by shape: " + logShapes(runner));

            assertTrue(runner.isAlive(), "the runner is alive; " + where + "\n" + runner.logs());
            assertEquals(List.of(), round1.problems, where + "\n" + round1);
            assertEquals(List.of(), round2.problems, "seed " + (SEED + 1) + "\n" + round2);
            assertEquals(stuck.connections, stuck.closedByRunner,
                    "every connection stuck mid-frame is closed by the runner within " + FRAME_TIMEOUT + " (+6 s); " + stuck);
            assertTrue(round1.sentTotal() == TRIES && round2.sentTotal() == TRIES, "every try ran");
            for (FrameBarrage.Kind kind : FrameBarrage.Kind.values()) {
                assertTrue(round1.sent.getOrDefault(kind.name(), 0) + round2.sent.getOrDefault(kind.name(), 0) > 0
                        || TRIES < 50, "kind " + kind + " was tried");
            }
            assertTrue(round1.outcomes.keySet().stream().anyMatch(k -> k.contains("Error CONF_TOKEN_NOT_FOUND")),
                    "an unknown token is CONF_TOKEN_NOT_FOUND: " + round1.outcomes);
            assertTrue(round1.outcomes.keySet().stream().anyMatch(k -> k.contains("Error BAD_REQUEST, closed")),
                    "garbage is BAD_REQUEST then close: " + round1.outcomes);

            assertTrue(normalFailures.isEmpty(), "the normal client failed during the barrage:\n" + normalFailures);
            assertTrue(normalOk.get() > 0, "the normal client ran");
            Exchange afterwards = apisix.send(withCookies("/app/data", jar));
            E2e.assertIdentity(afterwards, runner, "fiona");
            E2e.login(apisix, runner, "/app/login");

            assertEquals(before.busyConnectionThreads, after.busyConnectionThreads,
                    "threads serving a connection: none left from the barrage\n" + after.threadDump);
            assertTrue(after.fds <= before.fds + 3, "fds before " + before.fds + ", after " + after.fds);
            // idle a6-conn workers stay in the pool for 60 s after their connection ended, then exit
            assertTrue(after.threads - after.idlePoolThreads <= before.threads - before.idlePoolThreads + 3,
                    "threads besides idle pool workers: before " + before + ", after " + after);
            assertTrue(after.threads <= afterStuck.threads + 8,
                    "round 2 reused the pool's idle workers: after the stuck connections " + afterStuck.threads
                            + ", after " + after.threads);
            assertCleanLog(runner);
        }
    }

    /** No stack trace, no OutOfMemoryError, no error but the conf errors of mutated confs, never the secret. */
    static void assertCleanLog(RunnerProcess runner) {
        StringBuilder bad = new StringBuilder();
        for (String line : runner.logs().split("\n")) {
            boolean confError = line.contains("[ERROR] RpcDispatcher - conf ");
            if (line.startsWith("\tat ") || line.startsWith("Caused by") || line.contains("OutOfMemoryError")
                    || line.contains(E2e.SECRET) || line.contains(E2e.SECRET.substring(10, 30))
                    || (line.contains("[ERROR]") && !confError)) {
                bad.append(line).append('\n');
            }
        }
        assertTrue(bad.length() == 0, "runner log:\n" + bad);
    }

    /** Distinct WARN/ERROR messages (numbers blanked) and how often each occurred. */
    static java.util.Map<String, Long> logShapes(RunnerProcess runner) {
        java.util.Map<String, Long> shapes = new java.util.TreeMap<>();
        for (String line : runner.logs().split("\n")) {
            int at = line.indexOf("] [");
            if (at > 0 && (line.contains("[WARN]") || line.contains("[ERROR]"))) {
                String msg = line.substring(at + 2).replaceAll("[0-9]+", "N");
                if (msg.length() > 140) {
                    msg = msg.substring(0, 140) + "…";
                }
                shapes.merge(msg, 1L, Long::sum);
            }
        }
        return shapes;
    }

    /** Threads and fds of the runner, once the gateway's idle connections are closed and things settle. */
    record Counts(int threads, int fds, int busyConnectionThreads, int idlePoolThreads, String threadDump) {
        static Counts settled(long pid, SimulatedApisix apisix) throws IOException, InterruptedException {
            apisix.pool().clear();
            Counts last = null;
            for (int i = 0; i < 20; i++) {
                Thread.sleep(250);
                Counts now = of(pid);
                if (last != null && now.fds == last.fds && now.busyConnectionThreads == last.busyConnectionThreads) {
                    return now;
                }
                last = now;
            }
            return last;
        }

        static Counts of(long pid) throws IOException, InterruptedException {
            int threads = E2e.threadCount(pid);
            int fds = E2e.openFileCount(pid);
            String dump = E2e.jcmd(pid, "Thread.print");
            int busy = 0;
            int idle = 0;
            List<String> busyOnes = new ArrayList<>();
            for (String block : dump.split("\n\n")) {
                if (block.startsWith("\"a6-conn-") && block.contains("A6Connection.serve")) {
                    busy++;
                    busyOnes.add(block);
                } else if (block.startsWith("\"a6-conn-")) {
                    idle++;
                }
            }
            return new Counts(threads, fds, busy, idle, String.join("\n\n", busyOnes));
        }

        @Override
        public String toString() {
            return "threads=" + threads + " fds=" + fds + " busyConnectionThreads=" + busyConnectionThreads
                    + " idlePoolThreads=" + idlePoolThreads;
        }
    }
}
