package io.github.apisixsession.apisix;

import io.github.apisixsession.core.SessionMetrics;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The session engine's counters, the storage-latency histogram and the storages' client caches
 * ({@link ClientCacheMetrics}), in Prometheus' text format.
 * One instance per runner process ({@link #shared()}), served by {@link MetricsEndpoint}.
 */
public final class PrometheusMetrics implements SessionMetrics, HostMetrics {

    private static final PrometheusMetrics SHARED = new PrometheusMetrics();

    /** Bucket bounds in seconds: local memory is microseconds, a slow network storage up to seconds. */
    static final double[] BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
        0.25, 0.5, 1, 2.5, 5};

    private final LongAdder created = new LongAdder();
    private final LongAdder refreshed = new LongAdder();
    private final LongAdder touched = new LongAdder();
    private final LongAdder loggedOut = new LongAdder();
    private final LongAdder failureLimited = new LongAdder();
    private final LongAdder revocationsEvicted = new LongAdder();
    private final LongAdder sharedFeeds = new LongAdder();
    private final LongAdder sharedResyncs = new LongAdder();
    private final LongAdder sharedQueued = new LongAdder();
    private final Map<Rejection, LongAdder> rejected = new EnumMap<>(Rejection.class);
    private final Map<Rejection, LongAdder> refused = new EnumMap<>(Rejection.class);
    private final Map<String, Histogram> storage = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> circuitOpen = new ConcurrentHashMap<>();
    private final Map<Refusal, LongAdder> refusedConnections = new EnumMap<>(Refusal.class);

    public PrometheusMetrics() {
        for (Rejection r : Rejection.values()) {
            rejected.put(r, new LongAdder());
            refused.put(r, new LongAdder());
        }
        for (Refusal r : Refusal.values()) {
            refusedConnections.put(r, new LongAdder());
        }
    }

    /** The runner's metrics: the session plugin counts here, the endpoint reads from here. */
    public static PrometheusMetrics shared() {
        return SHARED;
    }

    @Override
    public void created() {
        created.increment();
    }

    @Override
    public void refreshed() {
        refreshed.increment();
    }

    @Override
    public void touched() {
        touched.increment();
    }

    @Override
    public void loggedOut() {
        loggedOut.increment();
    }

    @Override
    public void rejected(Rejection reason) {
        rejected.get(reason).increment();
    }

    @Override
    public void refused(Rejection reason) {
        refused.get(reason).increment();
    }

    @Override
    public void revocationEvicted() {
        revocationsEvicted.increment();
    }

    @Override
    public void sharedStateFeed(int change) {
        sharedFeeds.add(change);
    }

    @Override
    public void sharedStateResynchronized() {
        sharedResyncs.increment();
    }

    @Override
    public void sharedStateQueued(int change) {
        sharedQueued.add(change);
    }

    @Override
    public void failureLimited() {
        failureLimited.increment();
    }

    @Override
    public void connectionRefused(Refusal reason) {
        refusedConnections.get(reason).increment();
    }

    @Override
    public void storageLatency(String operation, long nanos, boolean failed) {
        storage.computeIfAbsent(operation, op -> new Histogram()).observe(nanos / 1e9, failed);
    }

    @Override
    public void storageCircuitOpen(String operation) {
        circuitOpen.computeIfAbsent(operation, op -> new LongAdder()).increment();
    }

    /** The Prometheus text exposition (format 0.0.4). */
    public String render() {
        StringBuilder b = new StringBuilder(2048);
        counter(b, "apisix_session_created_total", "Sessions created: logins and new anonymous sessions", created);
        counter(b, "apisix_session_refreshed_total", "Sessions renewed under a new id", refreshed);
        counter(b, "apisix_session_touched_total", "Session cookies re-signed to move the idling timeout", touched);
        counter(b, "apisix_session_logged_out_total", "Logouts", loggedOut);
        counter(b, "apisix_session_failure_limited_total", "Sessions destroyed by failure_limit", failureLimited);
        counter(b, "apisix_session_revocations_evicted_total",
                "Logged-out cookie-storage sessions forgotten early because the revocation list was full", revocationsEvicted);
        gauge(b, "apisix_session_shared_state_feeds_connected",
                "Shared stores whose change feed is connected and whose copy is loaded", sharedFeeds);
        counter(b, "apisix_session_shared_state_resynchronizations_total",
                "Reloads of a shared store's local copy from its snapshot (start, every reconnection)", sharedResyncs);
        gauge(b, "apisix_session_shared_state_queued_writes",
                "Revocations and markers waiting for an unreachable shared store", sharedQueued);
        byReason(b, "apisix_session_rejected_total", "Session tokens not accepted, once per request, by reason",
                rejected, false);
        byReason(b, "apisix_session_refused_total",
                "Requests answered with reject_status, by why they had no valid session", refused, true);
        b.append("# HELP apisix_session_storage_seconds Latency of session storage operations\n");
        b.append("# TYPE apisix_session_storage_seconds histogram\n");
        storage.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> e.getValue().render(b, "apisix_session_storage_seconds", e.getKey()));
        b.append("# HELP apisix_session_storage_errors_total Session storage operations that failed\n");
        b.append("# TYPE apisix_session_storage_errors_total counter\n");
        storage.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> b.append("apisix_session_storage_errors_total{operation=\"").append(e.getKey())
                        .append("\"} ").append(e.getValue().errors.sum()).append('\n'));
        b.append("# HELP apisix_session_storage_circuit_open_total Session storage operations failed at once "
                + "by an open circuit breaker (included in the errors)\n");
        b.append("# TYPE apisix_session_storage_circuit_open_total counter\n");
        circuitOpen.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> b.append("apisix_session_storage_circuit_open_total{operation=\"").append(e.getKey())
                        .append("\"} ").append(e.getValue().sum()).append('\n'));
        b.append("# HELP apisix_session_runner_connections_refused_total Connections closed before a frame was read: "
                + "peer (user/group not allowed), limit (too many connections)\n");
        b.append("# TYPE apisix_session_runner_connections_refused_total counter\n");
        for (Map.Entry<Refusal, LongAdder> e : refusedConnections.entrySet()) {
            b.append("apisix_session_runner_connections_refused_total{reason=\"")
                    .append(e.getKey().name().toLowerCase(java.util.Locale.ROOT)).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        ClientCacheMetrics.render(b);
        return b.toString();
    }

    private static void gauge(StringBuilder b, String name, String help, LongAdder value) {
        single(b, name, help, "gauge", value);
    }

    private static void byReason(StringBuilder b, String name, String help, Map<Rejection, LongAdder> counts,
                                 boolean withNoSession) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" counter\n");
        for (Map.Entry<Rejection, LongAdder> e : counts.entrySet()) {
            if (withNoSession || e.getKey() != Rejection.NO_SESSION) {
                b.append(name).append("{reason=\"").append(e.getKey().name().toLowerCase(java.util.Locale.ROOT))
                        .append("\"} ").append(e.getValue().sum()).append('\n');
            }
        }
    }

    private static void counter(StringBuilder b, String name, String help, LongAdder value) {
        single(b, name, help, "counter", value);
    }

    private static void single(StringBuilder b, String name, String help, String type, LongAdder value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        b.append(name).append(' ').append(value.sum()).append('\n');
    }

    private static final class Histogram {
        private final LongAdder[] buckets = new LongAdder[BUCKETS.length];
        private final LongAdder count = new LongAdder();
        private final LongAdder errors = new LongAdder();
        private final java.util.concurrent.atomic.DoubleAdder sum = new java.util.concurrent.atomic.DoubleAdder();

        Histogram() {
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void observe(double seconds, boolean failed) {
            for (int i = 0; i < BUCKETS.length; i++) {
                if (seconds <= BUCKETS[i]) {
                    buckets[i].increment();
                    break;
                }
            }
            count.increment();
            sum.add(seconds);
            if (failed) {
                errors.increment();
            }
        }

        void render(StringBuilder b, String name, String operation) {
            long cumulative = 0;
            for (int i = 0; i < BUCKETS.length; i++) {
                cumulative += buckets[i].sum();
                b.append(name).append("_bucket{operation=\"").append(operation).append("\",le=\"")
                        .append(BUCKETS[i]).append("\"} ").append(cumulative).append('\n');
            }
            b.append(name).append("_bucket{operation=\"").append(operation).append("\",le=\"+Inf\"} ")
                    .append(count.sum()).append('\n');
            b.append(name).append("_sum{operation=\"").append(operation).append("\"} ").append(sum.sum()).append('\n');
            b.append(name).append("_count{operation=\"").append(operation).append("\"} ").append(count.sum()).append('\n');
        }
    }
}
