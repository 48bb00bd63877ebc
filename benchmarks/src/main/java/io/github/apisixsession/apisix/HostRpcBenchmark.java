package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.simulator.A6;
import io.github.apisixsession.simulator.A6Codec;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Frame;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.memory.MemorySessionStorageProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The host's work for one HTTPReqCall without the socket: decoding the frame APISIX sends,
 * looking up the conf token, running the plugin, encoding the reply ({@code RpcDispatcher.handle}),
 * with the frame the load driver sends in the steady state (a browser's headers, a session
 * cookie, key-auth's {@code X-Consumer-Username: anon}). {@code noop} is the host alone;
 * {@code cookie} and {@code memory} add the session filter with a valid session. In this package
 * because the host's classes are package-private; it runs against whichever runner jar comes
 * first on the class path, so one compiled benchmark compares builds:
 * {@code java -cp runner.jar:benchmarks.jar org.openjdk.jmh.Main HostRpcBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class HostRpcBenchmark {

    @Param({"noop", "cookie", "memory"})
    public String setup;

    private static final String SECRET = "a-benchmark-secret-of-32-characters!";

    private RpcDispatcher dispatcher;
    private A6Frame valid;
    private final GatewayLink link = new GatewayLink() {
        @Override
        public byte[] variable(String name) {
            String v = switch (name) {
                case "consumer_name" -> "anon";
                case "request_id" -> "r-1";
                default -> null;
            };
            return v == null ? null : v.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] requestBody() {
            return new byte[0];
        }

        @Override
        public byte[] responseBody() {
            return new byte[0];
        }
    };

    @Setup
    public void setUp() throws Exception {
        Clock clock = Clock.fixed(Instant.parse("2026-01-01T00:00:05Z"), ZoneOffset.UTC);
        SessionStorages storages = new SessionStorages(List.of(new MemorySessionStorageProvider()),
                new StorageContext(clock, name -> null));
        dispatcher = new RpcDispatcher(Map.of("noop", new NoopPlugin(),
                "session", new SessionExtPlugin(clock, storages, SessionMetrics.NONE)),
                new ConfCache(HostSettings.of(Path.of("/nonexistent/bench.sock"))));
        String plugin = setup.equals("noop") ? "noop" : "session";
        String conf = setup.equals("noop") ? "{}" : "{\"secret\": \"" + SECRET + "\", \"anonymous_consumer\": \"anon\", "
                + "\"reject_status\": 401" + (setup.equals("memory") ? ", \"storage\": \"memory\"" : "") + "}";
        long token = prepare(plugin, conf);
        String cookie = "session=none";
        if (!setup.equals("noop")) {
            GatewayLink fiona = new GatewayLink() {
                @Override
                public byte[] variable(String name) {
                    return name.equals("consumer_name") ? "fiona".getBytes(StandardCharsets.UTF_8) : null;
                }

                @Override
                public byte[] requestBody() {
                    return null;
                }

                @Override
                public byte[] responseBody() {
                    return null;
                }
            };
            A6.ReqCallReply login = A6Codec.decodeReqCallReply(toSim(dispatcher.handle(
                    reqCall(token, List.of(Entry.of("x-consumer-username", "fiona"))), fiona)));
            cookie = null;
            if (login instanceof A6.Rewrite rw) {
                for (Entry h : rw.respHeaders()) {
                    if (h.name().equalsIgnoreCase("Set-Cookie") && h.value().startsWith("session=")) {
                        cookie = h.value().substring(0, h.value().indexOf(';'));
                    }
                }
            }
            if (cookie == null) {
                throw new IllegalStateException("login without a cookie: " + login);
            }
        }
        valid = reqCall(token, List.of(Entry.of("cookie", "_ga=GA1.2.1234567890.1700000000; " + cookie),
                Entry.of("x-consumer-username", "anon")));
        A6.ReqCallReply reply = A6Codec.decodeReqCallReply(toSim(rpc()));
        boolean ok = setup.equals("noop") ? reply instanceof A6.NoAction
                : reply instanceof A6.Rewrite rw && rw.headers().stream()
                        .anyMatch(h -> h.name().equals("X-Consumer-Username") && "fiona".equals(h.value()));
        if (!ok) {
            throw new IllegalStateException("unexpected reply: " + reply);
        }
    }

    private long prepare(String plugin, String conf) throws MalformedRpcException {
        Frame f = A6Codec.encode(new A6.PrepareConfRequest("route#1", List.of(Entry.of(plugin, conf))));
        A6Frame reply = dispatcher.handle(new A6Frame(f.type(), f.payload()), link);
        return A6Codec.decodePrepareConfReply(toSim(reply)).confToken();
    }

    private static A6Frame reqCall(long token, List<Entry> extra) {
        List<Entry> headers = new ArrayList<>(List.of(
                Entry.of("host", "app.example.com"),
                Entry.of("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                Entry.of("accept", "application/json, text/plain, */*"),
                Entry.of("accept-language", "en-US,en;q=0.5"),
                Entry.of("accept-encoding", "gzip, deflate, br"),
                Entry.of("x-forwarded-for", "203.0.113.9"),
                Entry.of("x-real-ip", "203.0.113.9")));
        headers.addAll(extra);
        Frame f = A6Codec.encode(new A6.HttpReqCallRequest(1, new byte[] {10, 0, 0, 7}, A6.methodCode("GET"),
                "/app/orders", List.of(Entry.of("page", "2")), headers, token));
        return new A6Frame(f.type(), f.payload());
    }

    private static Frame toSim(A6Frame f) {
        return new Frame(f.type(), f.payload());
    }

    /**
     * CPU time per call rather than JMH's wall clock, which on cores shared with other work
     * measures the scheduler: {@code java -cp runner.jar:benchmarks.jar
     * io.github.apisixsession.apisix.HostRpcBenchmark [rounds] [calls per round]} prints, per set-up,
     * the median and range of the rounds' thread CPU nanoseconds per call (rounds interleaved).
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
        String[] setups = {"noop", "cookie", "memory"};
        HostRpcBenchmark[] benches = new HostRpcBenchmark[setups.length];
        for (int i = 0; i < setups.length; i++) {
            benches[i] = new HostRpcBenchmark();
            benches[i].setup = setups[i];
            benches[i].setUp();
            benches[i].loop(calls); // warm-up
        }
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        double[][] perCall = new double[setups.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < setups.length; i++) {
                long t0 = cpu.getCurrentThreadCpuTime();
                benches[i].loop(calls);
                perCall[i][r] = (cpu.getCurrentThreadCpuTime() - t0) / (double) calls;
            }
        }
        for (int i = 0; i < setups.length; i++) {
            double[] v = perCall[i].clone();
            java.util.Arrays.sort(v);
            System.out.printf(java.util.Locale.ROOT, "%-7s CPU ns/call median %6.0f  (%6.0f-%6.0f, %d rounds of %d)%n",
                    setups[i], v[v.length / 2], v[0], v[v.length - 1], rounds, calls);
        }
    }

    private void loop(int calls) throws Exception {
        int sink = 0;
        for (int i = 0; i < calls; i++) {
            sink += rpc().payload().length;
        }
        if (sink == 42) {
            System.out.print("");
        }
    }

    /** One steady-state HTTPReqCall, frame in, reply frame out. */
    @Benchmark
    public A6Frame rpc() throws MalformedRpcException, GatewayException {
        return dispatcher.handle(valid, link);
    }
}
