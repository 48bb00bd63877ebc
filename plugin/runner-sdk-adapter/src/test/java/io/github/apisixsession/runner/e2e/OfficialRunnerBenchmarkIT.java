package io.github.apisixsession.runner.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.ExtPluginConf;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Throughput of the same requests through the simulated APISIX against our host and against the
 * official runner 0.4.0 (runner-core in an application with this module's {@link NoopFilter}), in
 * one run: no ext-plugin at all (the simulator's own ceiling), a no-op filter, and the session
 * filter with a valid cookie (cookie and memory storage), with {@code bench.threads} client
 * threads for {@code bench.seconds} each (in {@code bench.rounds} turns) after {@code bench.warmup}
 * seconds.
 *
 * <p>{@code mvn verify} runs it for a second per case as a smoke test; the figures in
 * docs/benchmarks.md come from
 * {@code mvn -B -pl plugin/runner-sdk-adapter -am verify -Dit.test=OfficialRunnerBenchmarkIT -Dtest=NONE
 * -Dsurefire.failIfNoSpecifiedTests=false -Dbench.seconds=20 -Dbench.rounds=10 -Dbench.warmup=5}.
 */
class OfficialRunnerBenchmarkIT {

    private static final int SECONDS = Integer.getInteger("bench.seconds", 1);
    private static final int WARMUP = Integer.getInteger("bench.warmup", 1);
    private static final int THREADS = Integer.getInteger("bench.threads", 8);
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 1);

    /** One measured case: a gateway and the request it sends. */
    record Case(String name, SimulatedApisix apisix, Supplier<ClientRequest> request, String expectUser) {
    }

    record Result(String name, double perSecond, long errors) {
    }

    private static UpstreamResponse upstream(io.github.apisixsession.simulator.UpstreamRequest req) {
        return UpstreamResponse.json("{\"ok\":true}").header("X-Up", "upstream-value");
    }

    private static SimulatedApisix gateway(RunnerProcess runner, Host host) {
        String conf = SessionFlowsSuite.conf("identity", "apisix", "anonymous_consumer", "anon");
        String memory = SessionFlowsSuite.conf("identity", "apisix", "anonymous_consumer", "anon",
                "storage", "memory");
        SimulatedApisix apisix = SimulatedApisix.in(runner)
                .consumer(Consumer.of("fiona", SessionFlowsSuite.FIONA_KEY))
                .consumer("anon", "anon-key-never-sent")
                .route(Route.uri("/none/*").keyAuth(KeyAuth.withAnonymous("anon"))
                        .upstream(OfficialRunnerBenchmarkIT::upstream))
                .route(Route.uri("/noop/*").keyAuth(KeyAuth.withAnonymous("anon"))
                        .postReq(ExtPluginConf.of("noop", "{}")).upstream(OfficialRunnerBenchmarkIT::upstream))
                .route(Route.uri("/noop2/*").keyAuth(KeyAuth.withAnonymous("anon"))
                        .postReq(ExtPluginConf.of("noop", "{}")).postResp(ExtPluginConf.of("noop", "{}"))
                        .upstream(OfficialRunnerBenchmarkIT::upstream))
                .route(host.session(Route.uri("/cookie/*").keyAuth(KeyAuth.withAnonymous("anon"))
                        .upstream(OfficialRunnerBenchmarkIT::upstream), false, conf, false))
                .route(host.session(Route.uri("/memory/*").keyAuth(KeyAuth.withAnonymous("anon"))
                        .upstream(OfficialRunnerBenchmarkIT::upstream), false, memory, false));
        return apisix;
    }

    private static CookieJar login(SimulatedApisix apisix, String uri) {
        Exchange ex = apisix.send(ClientRequest.get(uri).apikey(SessionFlowsSuite.FIONA_KEY));
        assertEquals(200, ex.status(), ex.transcriptText());
        return new CookieJar().update(ex.response());
    }

    /**
     * Every case warms up once, then the cases take turns: {@code bench.rounds} rounds of
     * {@code bench.seconds / bench.rounds} seconds each, so a change of load on the machine (other
     * builds) affects every case alike.
     */
    private static List<Result> measure(List<Case> cases) throws Exception {
        for (Case c : cases) {
            run(c, WARMUP * 1000L);
        }
        long[] ok = new long[cases.size()];
        long[] errors = new long[cases.size()];
        double[] seconds = new double[cases.size()];
        long slice = SECONDS * 1000L / ROUNDS;
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < cases.size(); i++) {
                long t0 = System.nanoTime();
                long[] counts = run(cases.get(i), slice);
                seconds[i] += (System.nanoTime() - t0) / 1e9;
                ok[i] += counts[0];
                errors[i] += counts[1];
            }
        }
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            results.add(new Result(cases.get(i).name(), ok[i] / seconds[i], errors[i]));
        }
        return results;
    }

    /** {ok, errors}: ok means 200 and, for the session cases, the upstream saw the user. */
    private static long[] run(Case c, long millis) throws Exception {
        SimulatedApisix apisix = c.apisix();
        Supplier<ClientRequest> request = c.request();
        String expectUser = c.expectUser();
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long deadline = System.nanoTime() + millis * 1_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                futures.add(pool.submit(() -> {
                    while (System.nanoTime() < deadline) {
                        Exchange ex = apisix.send(request.get());
                        boolean good = ex.status() == 200
                                && (expectUser == null || expectUser.equals(ex.upstreamHeader("X-Consumer-Username")));
                        (good ? ok : errors).incrementAndGet();
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        return new long[] {ok.get(), errors.get()};
    }

    @Test
    void compareHosts() throws Exception {
        List<Result> results;
        try (RunnerProcess ours = Host.OURS.start(); RunnerProcess official = Host.OFFICIAL_SCAN.start();
             SimulatedApisix a = gateway(ours, Host.OURS); SimulatedApisix b = gateway(official, Host.OFFICIAL_SCAN)) {
            CookieJar aCookie = login(a, "/cookie/login");
            CookieJar aMemory = login(a, "/memory/login");
            CookieJar bCookie = login(b, "/cookie/login");
            CookieJar bMemory = login(b, "/memory/login");
            results = measure(List.of(
                    new Case("no ext-plugin (simulator ceiling)", a, () -> ClientRequest.get("/none/x"), null),
                    new Case("our host: noop (post-req)", a, () -> ClientRequest.get("/noop/x"), null),
                    new Case("official 0.4.0: noop (post-req)", b, () -> ClientRequest.get("/noop/x"), null),
                    new Case("official 0.4.0: noop (post-req + post-resp)", b, () -> ClientRequest.get("/noop2/x"),
                            null),
                    new Case("our host: session, cookie storage", a,
                            () -> ClientRequest.get("/cookie/x").cookies(aCookie), "fiona"),
                    new Case("official 0.4.0: session, cookie storage", b,
                            () -> ClientRequest.get("/cookie/x").cookies(bCookie), "fiona"),
                    new Case("our host: session, memory storage", a,
                            () -> ClientRequest.get("/memory/x").cookies(aMemory), "fiona"),
                    new Case("official 0.4.0: session, memory storage", b,
                            () -> ClientRequest.get("/memory/x").cookies(bMemory), "fiona")));
        }
        double base = results.get(1).perSecond();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
                "%n| case (%d client threads, %d s in %d turns after %d s warm-up, %d cores) | req/s "
                        + "| ratio to our host's noop | errors |%n|---|---|---|---|%n",
                THREADS, SECONDS, ROUNDS, WARMUP, Runtime.getRuntime().availableProcessors()));
        for (Result r : results) {
            table.append(String.format(Locale.ROOT, "| %s | %.0f | %.2f | %d |%n", r.name(), r.perSecond(),
                    r.perSecond() / base, r.errors()));
        }
        table.append(String.format(Locale.ROOT, "%nofficial / ours: noop %.2f, session cookie %.2f, session memory %.2f%n",
                results.get(2).perSecond() / results.get(1).perSecond(),
                results.get(5).perSecond() / results.get(4).perSecond(),
                results.get(7).perSecond() / results.get(6).perSecond()));
        System.out.println(table);
        for (Result r : results) {
            assertEquals(0, r.errors(), r.name() + "\n" + table);
            assertTrue(r.perSecond() > 0, r.name());
        }
    }
}
