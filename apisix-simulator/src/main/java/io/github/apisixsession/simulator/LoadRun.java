package io.github.apisixsession.simulator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Requests sent through a gateway by several client threads at once, as a load driver (wrk) would,
 * until {@link #stop()}: counts the answers by status and each failure (5xx) by its cause as
 * APISIX logged it (no socket, connection refused, reset, closed, ...) and the time from the first
 * failure to the last, so a runner restart under load can be measured. A failure here costs no
 * network round trip, so counts are only comparable within one run; the window is the figure.
 */
public final class LoadRun {

    /** What the run counted. */
    public record Result(long requests, long ok, Map<Integer, Long> byStatus, Map<String, Long> failuresByCause,
            Map<String, String> firstFailureByCause, Duration failureWindow) {

        public long failed() {
            return requests - ok;
        }

        @Override
        public String toString() {
            return requests + " requests, " + failed() + " failed " + failuresByCause + " within "
                    + failureWindow.toMillis() + " ms, statuses " + byStatus;
        }
    }

    private final SimulatedApisix gateway;
    private final Supplier<ClientRequest> requests;
    private final List<Thread> clients = new ArrayList<>();
    private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> byCause = new ConcurrentHashMap<>();
    private final Map<String, String> firstFailures = new ConcurrentHashMap<>();
    private final AtomicLong firstFailureAt = new AtomicLong();
    private final AtomicLong lastFailureAt = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean running = true;

    private LoadRun(SimulatedApisix gateway, Supplier<ClientRequest> requests) {
        this.gateway = gateway;
        this.requests = requests;
    }

    /** Starts {@code clients} threads, each sending {@code requests} one after another. */
    public static LoadRun start(SimulatedApisix gateway, Supplier<ClientRequest> requests, int clients) {
        LoadRun run = new LoadRun(gateway, requests);
        for (int i = 0; i < clients; i++) {
            Thread t = new Thread(run::loop, "sim-load-" + i);
            t.setDaemon(true);
            run.clients.add(t);
            t.start();
        }
        return run;
    }

    /** Requests sent so far. */
    public long sent() {
        return sent.get();
    }

    private void loop() {
        while (running) {
            Exchange ex = gateway.send(requests.get());
            sent.incrementAndGet();
            byStatus.computeIfAbsent(ex.status(), s -> new LongAdder()).increment();
            if (ex.status() >= 500) {
                long now = System.nanoTime();
                firstFailureAt.compareAndSet(0, now);
                lastFailureAt.accumulateAndGet(now, Math::max);
                String cause = cause(ex.transcriptText());
                byCause.computeIfAbsent(cause, c -> new LongAdder()).increment();
                firstFailures.putIfAbsent(cause, ex.transcriptText());
            }
        }
    }

    /** The kind of runner failure, named like APISIX's error.log lines. */
    static String cause(String transcript) {
        String t = transcript.toLowerCase(java.util.Locale.ROOT);
        if (t.contains("failed to connect")) {
            if (t.contains("no such file")) {
                return "connect: no socket";
            }
            if (t.contains("refused")) {
                return "connect: connection refused";
            }
            if (t.contains("permission denied")) {
                return "connect: permission denied";
            }
            return "connect: other";
        }
        if (t.contains("reset")) {
            return "connection reset";
        }
        if (t.contains("broken pipe")) {
            return "broken pipe";
        }
        if (t.contains("closed")) {
            return "closed during the RPC";
        }
        if (t.contains("conf token not found")) {
            return "conf token not found 3 times";
        }
        return "other";
    }

    /** Stops the clients, waits for their last request and returns the counts. */
    public Result stop() throws InterruptedException {
        running = false;
        for (Thread t : clients) {
            t.join(120_000);
        }
        Map<Integer, Long> statuses = new TreeMap<>();
        byStatus.forEach((k, v) -> statuses.put(k, v.sum()));
        Map<String, Long> causes = new TreeMap<>();
        byCause.forEach((k, v) -> causes.put(k, v.sum()));
        long total = statuses.values().stream().mapToLong(Long::longValue).sum();
        long ok = statuses.entrySet().stream().filter(e -> e.getKey() < 500).mapToLong(Map.Entry::getValue).sum();
        long first = firstFailureAt.get();
        Duration window = first == 0 ? Duration.ZERO : Duration.ofNanos(lastFailureAt.get() - first);
        return new Result(total, ok, statuses, causes, new TreeMap<>(firstFailures), window);
    }
}
