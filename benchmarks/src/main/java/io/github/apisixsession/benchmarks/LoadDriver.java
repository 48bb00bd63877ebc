package io.github.apisixsession.benchmarks;

import io.github.apisixsession.simulator.RunnerProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

/**
 * Plays many APISIX workers against the runner's unix socket and reports requests/s and
 * p50/p99/p99.9 latency for each filter set-up relative to the {@code noop} filter on the same
 * runner, in the same run: closed-loop peak rounds (order rotated every round), then an open-loop
 * sweep of offered load for the latency-versus-load chart. See docs/benchmarks.md.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.apisixsession.benchmarks.LoadDriver \
 *     --runner plugin/target/apisix-session-runner.jar [--storages cookie,memory] [--out DIR] …
 * </pre>
 */
public final class LoadDriver {

    private static final String USAGE = """
            usage: LoadDriver (--runner JAR | --socket PATH) [options]
              --runner JAR            start this runner jar as APISIX would (java <jvm args> -jar JAR)
              --runner-jvm-args ARGS  JVM options of the runner (default "-Xmx512m")
              --socket PATH           drive a runner that is already listening on PATH instead
              --runner-pid PID        with --socket: the runner's pid, for its CPU per request
              --storages LIST         set-ups besides noop (default noop-var,cookie,memory); each is
                                      a storage name or NAME=JSON members merged into the route conf,
                                      e.g. 'redis="storage": "redis", "redis": {"host": "127.0.0.1"}';
                                      noop-var is noop plus the session filter's ExtraInfo round trip
              --workers N             simulated APISIX workers, one event loop each (default 2)
              --connections N         keep-alive connections per worker (default 16; APISIX pools 32)
              --sessions N            live sessions per set-up, logged in before measuring (default 2000)
              --mix V/L/O             per cent of valid-session requests/logins/logouts (default 90/5/5)
              --upstream-logins F     share of logins through the identity "upstream" route with
                                      ext-plugin-post-resp (default 0.5; the rest via key-auth)
              --rounds N              closed-loop rounds (default 3)
              --warmup S / --duration S   seconds per closed-loop phase (default 5 / 10)
              --sweep LIST            open-loop loads as fractions of noop's peak
                                      (default 0.1,0.2,0.3,0.4,0.5,0.75; "none" to skip)
              --sweep-warmup S / --sweep-duration S   (default 2 / 8)
              --out DIR               where report.md, results.csv and latency-vs-load.png go
                                      (default benchmarks/target/load-<time>)
            """;

    private static final long CLOCK_TICKS = 100; // USER_HZ on Linux

    private final Map<String, String> options;
    private String loadBefore = "";
    private String loadAfter = "";
    private final List<String> skipped = new ArrayList<>();

    private LoadDriver(Map<String, String> options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.print(USAGE);
                return;
            }
            if (!a.startsWith("--") || i + 1 >= args.length) {
                System.err.print("bad argument " + a + "\n" + USAGE);
                System.exit(2);
            }
            options.put(a.substring(2), args[++i]);
        }
        if (!options.containsKey("runner") && !options.containsKey("socket")) {
            System.err.print("--runner or --socket is required\n" + USAGE);
            System.exit(2);
        }
        new LoadDriver(options).run();
    }

    private String opt(String name, String def) {
        return options.getOrDefault(name, def);
    }

    private int intOpt(String name, int def) {
        return Integer.parseInt(opt(name, Integer.toString(def)));
    }

    private double doubleOpt(String name, double def) {
        return Double.parseDouble(opt(name, Double.toString(def)));
    }

    /** One measured phase of one target, all workers together. */
    record Measured(String target, int round, double load, double offered, double throughput, long p50, long p99, long p999,
                    long max, double runnerCpuMicros, double driverCpuMicros, long errors, long unexpected,
                    List<String> problems) {
    }

    private void run() throws Exception {
        List<Target> targets = new ArrayList<>();
        targets.add(Target.noop());
        for (String s : splitList(opt("storages", "noop-var,cookie,memory"))) {
            targets.add(Target.forStorage(s));
        }
        int workerCount = intOpt("workers", 2);
        int connections = intOpt("connections", 16);
        int sessions = intOpt("sessions", 2000);
        String[] mixParts = opt("mix", "90/5/5").split("/");
        DriverWorker.Mix mix = new DriverWorker.Mix(Integer.parseInt(mixParts[0]) * 10,
                Integer.parseInt(mixParts[1]) * 10, doubleOpt("upstream-logins", 0.5));
        int rounds = intOpt("rounds", 3);
        long warmup = seconds(doubleOpt("warmup", 5));
        long duration = seconds(doubleOpt("duration", 10));
        String sweepSpec = opt("sweep", "0.1,0.2,0.3,0.4,0.5,0.75");
        double[] sweep = sweepSpec.equals("none") ? new double[0]
                : Arrays.stream(sweepSpec.split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
        long sweepWarmup = seconds(doubleOpt("sweep-warmup", 2));
        long sweepDuration = seconds(doubleOpt("sweep-duration", 8));
        Path out = Path.of(opt("out", "benchmarks/target/load-"
                + Instant.now().toString().replace(":", "").replaceAll("\\..*", "")));
        Files.createDirectories(out);

        RunnerProcess runner = null;
        Path socket;
        long runnerPid = -1;
        if (options.containsKey("runner")) {
            RunnerProcess.Builder b = RunnerProcess.builder(Path.of(opt("runner", null)))
                    .startTimeout(Duration.ofSeconds(60));
            for (String arg : splitWords(opt("runner-jvm-args", "-Xmx512m"))) {
                b.jvmArg(arg);
            }
            runner = b.start();
            socket = runner.socketPath();
            runnerPid = runner.pid();
        } else {
            socket = Path.of(opt("socket", null));
            runnerPid = Long.parseLong(opt("runner-pid", "-1"));
        }
        List<DriverWorker> workers = new ArrayList<>();
        List<Measured> peaks = new ArrayList<>();
        List<Measured> sweeps = new ArrayList<>();
        PrintStream log = System.out;
        loadBefore = loadAverage();
        try {
            log.printf("machine: %s; %d cores; runner %s (pid %d); %d workers x %d connections%n",
                    cpuModel(), Runtime.getRuntime().availableProcessors(),
                    runner != null ? opt("runner", null) + " " + opt("runner-jvm-args", "-Xmx512m") : socket,
                    runnerPid, workerCount, connections);
            for (int i = 0; i < workerCount; i++) {
                DriverWorker w = new DriverWorker(i, socket, connections, 1000 + i);
                w.connect(targets);
                workers.add(w);
            }
            // sessions first for the session set-ups; noop then sends copies of real cookies
            int perWorker = Math.max(1, sessions / workerCount);
            for (Target t : targets) {
                if (!t.isNoop()) {
                    parallel(workers, w -> w.seed(t, perWorker, mix));
                }
            }
            Target templateSource = targets.stream().filter(t -> !t.isNoop()).findFirst().orElse(null);
            for (DriverWorker w : workers) {
                if (templateSource != null) {
                    w.cookieTemplates(w.cookies(templateSource.name(), 200));
                }
            }
            for (Target t : targets) {
                if (t.isNoop()) {
                    parallel(workers, w -> w.seed(t, perWorker, mix));
                }
            }
            log.printf("seeded %d sessions per set-up%n", perWorker * workerCount);

            for (int round = 1; round <= rounds; round++) {
                for (int k = 0; k < targets.size(); k++) {
                    Target t = targets.get((k + round - 1) % targets.size());
                    Measured m = phase(workers, t, round, 0, 0, warmup, duration, mix, runnerPid);
                    peaks.add(m);
                    log.println(line("peak", m));
                }
            }
            double noopPeak = median(peaks.stream().filter(m -> m.target().equals("noop"))
                    .mapToDouble(Measured::throughput).toArray());
            for (int i = 0; i < sweep.length; i++) {
                for (int k = 0; k < targets.size(); k++) {
                    Target t = targets.get((k + i) % targets.size());
                    double ownPeak = median(peaks.stream().filter(m -> m.target().equals(t.name()))
                            .mapToDouble(Measured::throughput).toArray());
                    if (sweep[i] * noopPeak > ownPeak) {
                        // past this set-up's own peak only the driver's queue grows: nothing to learn
                        skipped.add(String.format(Locale.ROOT, "%s at %.2f (%.0f req/s offered > its peak %.0f)",
                                t.name(), sweep[i], sweep[i] * noopPeak, ownPeak));
                        continue;
                    }
                    Measured m = phase(workers, t, 0, sweep[i], sweep[i] * noopPeak, sweepWarmup, sweepDuration, mix,
                            runnerPid);
                    sweeps.add(m);
                    log.println(line(String.format(Locale.ROOT, "%.2f", sweep[i]), m));
                }
            }
        } finally {
            for (DriverWorker w : workers) {
                w.close();
            }
            if (runner != null) {
                Files.writeString(out.resolve("runner.log"), runner.logs(), StandardCharsets.UTF_8);
                runner.close();
            }
        }
        loadAfter = loadAverage();
        String report = report(targets, peaks, sweeps, sweep, workerCount, connections, sessions, rounds,
                warmup, duration, sweepWarmup, sweepDuration);
        Files.writeString(out.resolve("report.md"), report, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("results.csv"), csv(peaks, sweeps), StandardCharsets.UTF_8);
        if (!sweeps.isEmpty()) {
            LatencyChart.write(out.resolve("latency-vs-load.png"), targets.stream().map(Target::name).toList(),
                    sweeps, peaks, "ext-plugin RPC latency vs load (" + Runtime.getRuntime().availableProcessors()
                            + " cores shared by driver and runner)");
        }
        System.out.println();
        System.out.println(report);
        System.out.println("written to " + out.toAbsolutePath());
        long bad = peaks.stream().mapToLong(m -> m.errors() + m.unexpected()).sum()
                + sweeps.stream().mapToLong(m -> m.errors() + m.unexpected()).sum();
        if (bad > 0) {
            System.err.println(bad + " requests got an error or an unexpected answer; see the report");
            System.exit(1);
        }
    }

    private interface WorkerTask {
        DriverWorker.Result run(DriverWorker w) throws Exception;
    }

    private static List<DriverWorker.Result> parallel(List<DriverWorker> workers, WorkerTask task)
            throws Exception {
        return parallel(workers, task, null);
    }

    private static List<DriverWorker.Result> parallel(List<DriverWorker> workers, WorkerTask task,
                                                      CyclicBarrier barrier) throws Exception {
        DriverWorker.Result[] results = new DriverWorker.Result[workers.size()];
        Exception[] failures = new Exception[workers.size()];
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            int k = i;
            Thread t = new Thread(() -> {
                try {
                    if (barrier != null) {
                        barrier.await();
                    }
                    results[k] = task.run(workers.get(k));
                } catch (Exception e) {
                    failures[k] = e;
                    if (barrier != null) {
                        barrier.reset();
                    }
                }
            }, "driver-worker-" + i);
            threads.add(t);
            t.start();
        }
        if (barrier != null) {
            try {
                barrier.await();
            } catch (BrokenBarrierException e) {
                // a worker failed before starting: reported below
            }
        }
        for (Thread t : threads) {
            t.join();
        }
        for (Exception e : failures) {
            if (e != null) {
                throw e;
            }
        }
        return Arrays.asList(results);
    }

    private Measured phase(List<DriverWorker> workers, Target t, int round, double load, double rate, long warmup,
                           long duration,
                           DriverWorker.Mix mix, long runnerPid) throws Exception {
        DriverWorker.Phase p = new DriverWorker.Phase(t, rate / workers.size(), warmup, duration, mix);
        CyclicBarrier barrier = new CyclicBarrier(workers.size() + 1);
        long[] cpu = new long[4];
        Thread sampler = new Thread(() -> {
            try {
                Thread.sleep(warmup / 1_000_000);
                cpu[0] = cpuTicks(runnerPid);
                cpu[1] = cpuTicks(-1);
                Thread.sleep(duration / 1_000_000);
                cpu[2] = cpuTicks(runnerPid);
                cpu[3] = cpuTicks(-1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        List<DriverWorker.Result> results = parallel(workers, w -> {
            if (w == workers.get(0)) {
                sampler.start();
            }
            return w.run(p);
        }, barrier);
        sampler.join();
        DriverWorker.Result all = new DriverWorker.Result();
        results.forEach(all::add);
        double seconds = duration / 1e9;
        double throughput = all.completed / seconds;
        double runnerCpu = runnerPid > 0 && all.completed > 0
                ? (cpu[2] - cpu[0]) * (1e6 / CLOCK_TICKS) / all.completed : Double.NaN;
        double driverCpu = all.completed > 0 ? (cpu[3] - cpu[1]) * (1e6 / CLOCK_TICKS) / all.completed : Double.NaN;
        return new Measured(t.name(), round, load, rate, throughput, all.latency.percentile(50), all.latency.percentile(99),
                all.latency.percentile(99.9), all.latency.max(), runnerCpu, driverCpu, all.errors, all.unexpected,
                all.problems);
    }

    /** utime + stime of a process in clock ticks (-1: this process); 0 when unknown. */
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + (pid < 0 ? "self" : Long.toString(pid)) + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static String line(String what, Measured m) {
        return String.format(Locale.ROOT,
                "%-5s %-8s round %d  %9.0f req/s  p50 %6.3f ms  p99 %6.3f ms  p99.9 %6.3f ms  runner %5.1f µs/req"
                        + "  driver %5.1f µs/req%s",
                what, m.target(), m.round(), m.throughput(), ms(m.p50()), ms(m.p99()), ms(m.p999()),
                m.runnerCpuMicros(), m.driverCpuMicros(),
                m.errors() + m.unexpected() > 0 ? "  ERRORS " + m.errors() + " unexpected " + m.unexpected()
                        + " " + m.problems() : "");
    }

    private String report(List<Target> targets, List<Measured> peaks, List<Measured> sweeps, double[] sweep,
                          int workers, int connections, int sessions, int rounds, long warmup, long duration,
                          long sweepWarmup, long sweepDuration) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Machine: %s, %d cores shared by the driver and the runner; %s.%n",
                cpuModel(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name") + " "
                        + System.getProperty("java.version")));
        sb.append(String.format(Locale.ROOT, "Driver: %d workers x %d connections, %d live sessions per set-up, "
                        + "mix %s, %s of logins via the upstream route; %d closed-loop rounds of %ds warm-up + %ds, "
                        + "open-loop sweep %ds + %ds per point. Runner JVM: %s.%n%n",
                workers, connections, sessions, opt("mix", "90/5/5"), opt("upstream-logins", "0.5"), rounds,
                warmup / 1_000_000_000L, duration / 1_000_000_000L, sweepWarmup / 1_000_000_000L,
                sweepDuration / 1_000_000_000L, opt("runner-jvm-args", "-Xmx512m")));
        sb.append(String.format(Locale.ROOT, "Load average (1/5/15 min) at the start: %s; at the end: %s.%n%n",
                loadBefore, loadAfter));
        sb.append("Peak (closed loop): median of the rounds, ratio = set-up / noop of the same round (min-max)\n\n");
        sb.append("| set-up | req/s | ratio to noop | ratio to noop-var | p50 ms | p99 ms | p99.9 ms |"
                + " runner CPU µs/req | driver CPU µs/req |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Target t : targets) {
            List<Measured> ms = peaks.stream().filter(m -> m.target().equals(t.name())).toList();
            if (ms.isEmpty()) {
                continue;
            }
            double[] ratios = ms.stream().mapToDouble(m -> m.throughput() / roundOf(peaks, m.round(), "noop"))
                    .toArray();
            double[] varRatios = ms.stream().mapToDouble(m -> m.throughput() / roundOf(peaks, m.round(), "noop-var"))
                    .toArray();
            sb.append(String.format(Locale.ROOT, "| %s | %.0f | %.2f (%.2f-%.2f) | %s | %.3f | %.3f | %.3f | %.1f | %.1f |%n",
                    t.name(), median(ms.stream().mapToDouble(Measured::throughput).toArray()), median(ratios),
                    Arrays.stream(ratios).min().orElse(0), Arrays.stream(ratios).max().orElse(0),
                    Double.isNaN(median(varRatios)) ? "" : String.format(Locale.ROOT, "%.2f (%.2f-%.2f)",
                            median(varRatios), Arrays.stream(varRatios).min().orElse(0),
                            Arrays.stream(varRatios).max().orElse(0)),
                    median(ms.stream().mapToDouble(m -> ms(m.p50())).toArray()),
                    median(ms.stream().mapToDouble(m -> ms(m.p99())).toArray()),
                    median(ms.stream().mapToDouble(m -> ms(m.p999())).toArray()),
                    median(ms.stream().mapToDouble(Measured::runnerCpuMicros).toArray()),
                    median(ms.stream().mapToDouble(Measured::driverCpuMicros).toArray())));
        }
        if (!sweeps.isEmpty()) {
            sb.append("\nLatency vs offered load (open loop; load as a fraction of noop's median peak)\n\n");
            sb.append("| load | set-up | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms |"
                    + " p99 added vs noop ms |\n|---:|---|---:|---:|---:|---:|---:|---:|\n");
            for (double f : sweep) {
                Measured noop = sweeps.stream().filter(m -> m.target().equals("noop") && m.load() == f).findFirst()
                        .orElse(null);
                for (Target t : targets) {
                    for (Measured m : sweeps) {
                        if (m.target().equals(t.name()) && m.load() == f) {
                            sb.append(String.format(Locale.ROOT, "| %.2f | %s | %.0f | %.0f | %.3f | %.3f | %.3f | %s |%n",
                                    f, t.name(), m.offered(), m.throughput(), ms(m.p50()), ms(m.p99()), ms(m.p999()),
                                    noop == null || t.isNoop() ? "" : String.format(Locale.ROOT, "%+.3f",
                                            ms(m.p99()) - ms(noop.p99()))));
                        }
                    }
                }
            }
        }
        if (!skipped.isEmpty()) {
            sb.append("\nNot run (offered load above the set-up's own peak): ").append(String.join("; ", skipped))
                    .append('\n');
        }
        List<String> problems = new ArrayList<>();
        long bad = 0;
        for (Measured m : concat(peaks, sweeps)) {
            bad += m.errors() + m.unexpected();
            problems.addAll(m.problems());
        }
        sb.append(String.format(Locale.ROOT, "%nErrors or unexpected answers: %d%s%n", bad,
                problems.isEmpty() ? "" : " " + problems.subList(0, Math.min(5, problems.size()))));
        return sb.toString();
    }

    private static List<Measured> concat(List<Measured> a, List<Measured> b) {
        List<Measured> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static double roundOf(List<Measured> peaks, int round, String target) {
        return peaks.stream().filter(m -> m.round() == round && m.target().equals(target))
                .mapToDouble(Measured::throughput).findFirst().orElse(Double.NaN);
    }

    private static String csv(List<Measured> peaks, List<Measured> sweeps) {
        StringBuilder sb = new StringBuilder(
                "kind,target,round,load,offered_rps,achieved_rps,p50_us,p99_us,p999_us,max_us,runner_cpu_us_per_req,"
                        + "driver_cpu_us_per_req,errors,unexpected\n");
        for (Measured m : concat(peaks, sweeps)) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%d,%.2f,%.1f,%.1f,%d,%d,%d,%d,%.2f,%.2f,%d,%d%n",
                    m.offered() == 0 ? "peak" : "sweep", m.target(), m.round(), m.load(), m.offered(), m.throughput(),
                    m.p50() / 1000, m.p99() / 1000, m.p999() / 1000, m.max() / 1000, m.runnerCpuMicros(),
                    m.driverCpuMicros(), m.errors(), m.unexpected()));
        }
        return sb.toString();
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static long seconds(double s) {
        return (long) (s * 1e9);
    }

    /** Splits at commas that start a new item (a name), not those inside a NAME=JSON item. */
    static List<String> splitList(String s) {
        return Arrays.stream(s.split(",(?![^{]*})(?=\\s*[A-Za-z][\\w-]*\\s*(?:=|,|$))")).map(String::trim)
                .filter(x -> !x.isEmpty()).toList();
    }

    private static List<String> splitWords(String s) {
        return Arrays.stream(s.trim().split("\\s+")).filter(x -> !x.isEmpty()).toList();
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return ManagementFactory.getOperatingSystemMXBean().getArch();
    }
}
