package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Several runner processes, each behind a simulated gateway of its own, sharing one server-side
 * storage and one test clock: the client-cache tests' setting. It measures how long the other
 * runners keep accepting a session ended on one (the invalidation delay: from the answer to the
 * logout, or the end of the revoke command, to the first refusal by another runner polling with
 * the old cookie), printed in one {@code INVALIDATION …} line per kind; it asserts only that every
 * runner refuses in the end.
 */
final class RunnerFleet implements AutoCloseable {

    /** Generous: a busy CI machine; a correct cache refuses within milliseconds. */
    static final long DEADLINE_MS = 15_000;

    /** Puts a session into one runner's cache (it must answer 200). */
    @FunctionalInterface
    interface Warmer {
        void warm(int runner, String path, String cookie);
    }

    /** When the request that first got the awaited status was sent and answered (nanoTime). */
    record Seen(long sent, long answered) {
    }

    final List<RunnerProcess> runners = new ArrayList<>();
    final List<SimulatedApisix> gateways = new ArrayList<>();
    /** The runners' shared time: a renewal test moves it instead of waiting. */
    final ClockFile clock;

    /** {@code size} runners started by {@code builder} (given the shared clock), routes added by the caller. */
    RunnerFleet(int size, Function<ClockFile, RunnerProcess.Builder> builder) throws Exception {
        this.clock = ClockFile.create();
        for (int i = 0; i < size; i++) {
            RunnerProcess runner = E2e.start(builder.apply(clock));
            runners.add(runner);
            gateways.add(E2e.gateway(runner));
        }
    }

    int size() {
        return runners.size();
    }

    Exchange get(int runner, String path, String cookie) {
        return gateways.get(runner).send(ClientRequest.get(path).cookie(cookie));
    }

    String login(int runner, String path) {
        return E2e.login(gateways.get(runner), runners.get(runner), path).cookieHeader();
    }

    CookieJar loginJar(int runner, String path) {
        return E2e.login(gateways.get(runner), runners.get(runner), path);
    }

    /** Polls {@code runner} with {@code cookie} until it answers {@code status}. */
    Seen awaitStatus(int runner, String path, String cookie, int status) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        Exchange ex;
        do {
            long sent = System.nanoTime();
            ex = get(runner, path, cookie);
            if (ex.status() == status) {
                return new Seen(sent, System.nanoTime());
            }
        } while (System.nanoTime() < deadline);
        throw new AssertionError("runner " + runner + " still answers " + ex.status() + ", not " + status + "\n"
                + why(ex, runners.get(runner)));
    }

    /**
     * {@code rounds} times: logs in on one runner (each in turn), has the others take the session
     * into their caches, then logs out and times how long the others keep accepting the old cookie.
     * Prints the delays to the refusal's answer and to the sending of the request refused.
     */
    void logoutRounds(int rounds, String path, Warmer warmer) throws Exception {
        List<Double> answered = new ArrayList<>();
        List<Double> sent = new ArrayList<>();
        ExecutorService pollers = Executors.newFixedThreadPool(size() - 1);
        try {
            for (int round = 0; round < rounds; round++) {
                int origin = round % size();
                String cookie = login(origin, path + "login");
                List<Integer> others = new ArrayList<>();
                for (int r = 0; r < size(); r++) {
                    if (r != origin) {
                        warmer.warm(r, path + "data", cookie);
                        others.add(r);
                    }
                }
                List<Future<Seen>> refused = new ArrayList<>();
                for (int r : others) {
                    refused.add(pollers.submit(() -> awaitStatus(r, path + "data", cookie, 401)));
                }
                Exchange logout = gateways.get(origin).send(ClientRequest.post(path + "x?session_logout").cookie(cookie));
                long loggedOut = System.nanoTime();
                assertEquals(200, logout.status(), why(logout, runners.get(origin)));
                for (Future<Seen> f : refused) {
                    Seen at = f.get(DEADLINE_MS * 2, TimeUnit.MILLISECONDS);
                    answered.add(Math.max(0, at.answered() - loggedOut) / 1e6);
                    sent.add(Math.max(0, at.sent() - loggedOut) / 1e6);
                }
            }
        } finally {
            pollers.shutdownNow();
        }
        System.out.println(summary("logout (to the refusal's answer)", answered));
        System.out.println(summary("logout (to the sending of the request refused)", sent));
    }

    /**
     * Logs fiona in on every runner, has every runner take every session into its cache, runs
     * {@code sessions revoke --subject fiona} with {@code confJson} (and {@code env}), and waits
     * until every runner refuses every session; prints the delays.
     */
    void revokeEverywhere(String path, Warmer warmer, String confJson, Map<String, String> env) throws Exception {
        List<String> cookies = new ArrayList<>();
        for (int origin = 0; origin < size(); origin++) {
            cookies.add(login(origin, path + "login"));
        }
        for (String cookie : cookies) {
            for (int r = 0; r < size(); r++) {
                warmer.warm(r, path + "data", cookie);
            }
        }
        Path dir = Files.createTempDirectory("fleet-revoke-");
        Path conf = dir.resolve("route.json");
        Files.writeString(conf, confJson);
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // the runners' clock: a marker set by the system clock would refuse their new logins
                clock.jvmArg(), "-jar",
                System.getProperty("runnerJar"), "sessions", "revoke", "--subject", "fiona", "--config", conf.toString())
                .redirectErrorStream(true);
        pb.environment().putAll(env);
        Process cli = pb.start();
        String out = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(cli.waitFor(90, TimeUnit.SECONDS) && cli.exitValue() == 0, "sessions revoke: " + out);
        long revoked = System.nanoTime();
        List<Double> delays = new ArrayList<>();
        for (String cookie : cookies) {
            for (int r = 0; r < size(); r++) {
                delays.add(Math.max(0, awaitStatus(r, path + "data", cookie, 401).answered() - revoked) / 1e6);
            }
        }
        Files.deleteIfExists(conf);
        Files.deleteIfExists(dir);
        System.out.println(summary("sessions revoke (polled one after another)", delays));
    }

    /**
     * The second runner logs in on {@code path} with a one-hour session; at 13 s (the shared clock)
     * the first runner, whose route there renews after 12 s ({@code rolling_timeout} 16,
     * {@code stale_ttl} 1), renews it, cutting the old entry to stale_ttl. The other runners,
     * which had the old session in their caches for an hour, refuse it once the storage ends it
     * (in real time), and accept the new one.
     */
    void renewalEndsTheOldSessionElsewhere(String path, Warmer warmer) {
        CookieJar jar = loginJar(1, path + "login");
        String old = jar.cookieHeader();
        warmer.warm(1, path + "data", old);
        warmer.warm(2, path + "data", old);
        clock.advance(Duration.ofSeconds(13));

        Exchange renewal = gateways.get(0).send(E2e.withCookies(path + "data", jar));
        E2e.assertIdentity(renewal, runners.get(0), "fiona");
        assertNotNull(E2e.sessionSetCookie(renewal), "renewed\n" + why(renewal, runners.get(0)));
        jar.update(renewal.response());
        assertNotEquals(old, jar.cookieHeader());

        awaitStatus(1, path + "data", old, 401);
        awaitStatus(2, path + "data", old, 401);
        E2e.assertIdentity(gateways.get(2).send(E2e.withCookies(path + "data", jar)), runners.get(2), "fiona");
    }

    static String summary(String what, List<Double> delaysMs) {
        List<Double> sorted = new ArrayList<>(delaysMs);
        sorted.sort(null);
        return String.format(Locale.ROOT, "INVALIDATION %s delay ms: n=%d p50=%.2f p99=%.2f max=%.2f", what,
                sorted.size(), percentile(sorted, 0.50), percentile(sorted, 0.99), sorted.get(sorted.size() - 1));
    }

    private static double percentile(List<Double> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    @Override
    public void close() throws Exception {
        for (int i = 0; i < gateways.size(); i++) {
            E2e.close(gateways.get(i), runners.get(i));
        }
        clock.close();
    }
}
