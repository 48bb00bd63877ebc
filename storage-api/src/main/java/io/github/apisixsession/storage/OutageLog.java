package io.github.apisixsession.storage;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The log of a storage outage, a few lines however many requests fail: the first failure at WARN
 * with its cause, a new cause at once, repeats of a cause as one line with a count at most once
 * per interval, and the first success after failures as "reachable again: recovered after N failures in T s".
 * Under load a stopped store fails thousands of requests a second, and APISIX copies every line
 * of the runner into its error.log.
 *
 * <p>Causes are compared as given: callers pass a short description without secrets or keys
 * (exception class and message). Thread-safe; a success while nothing failed costs one volatile
 * read.
 */
public final class OutageLog {

    /** How often repeats of a cause are summarised by default. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
    /** New causes logged at once per interval; more are only counted (causes with ids or times in them). */
    static final int NEW_CAUSE_LINES = 3;
    /** Causes counted separately per interval; the rest are summed up as "other causes". */
    static final int TRACKED_CAUSES = 8;
    static final String OTHER_CAUSES = "other causes";

    /** Where the lines go: the storage's logger, or a list in tests. */
    public interface Sink {
        void warn(String line);

        void info(String line);

        /** E.g. {@code Sink.of(LOG::warn, LOG::info)} with an slf4j logger. */
        static Sink of(Consumer<String> warn, Consumer<String> info) {
            Objects.requireNonNull(warn, "warn");
            Objects.requireNonNull(info, "info");
            return new Sink() {
                @Override
                public void warn(String line) {
                    warn.accept(line);
                }

                @Override
                public void info(String line) {
                    info.accept(line);
                }
            };
        }
    }

    private final String subject;
    private final Clock clock;
    private final Duration interval;
    private final Sink sink;

    private volatile boolean failing;
    private Instant since;
    private long failures;
    private Instant intervalStart;
    private int newCauseLines;
    private final Set<String> logged = new HashSet<>();
    private final Map<String, Long> repeats = new LinkedHashMap<>();

    /**
     * @param subject  what fails, e.g. {@code redis storage (127.0.0.1:6379)}; no secrets
     * @param clock    real time (not the sessions' clock, which tests may stop)
     * @param interval at most one summary line per cause this often
     */
    public OutageLog(String subject, Clock clock, Duration interval, Sink sink) {
        this.subject = Objects.requireNonNull(subject, "subject");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.sink = Objects.requireNonNull(sink, "sink");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive");
        }
    }

    /** A call failed because of {@code cause} (a description without secrets). */
    public void failure(String cause) {
        Objects.requireNonNull(cause, "cause");
        synchronized (this) {
            Instant now = clock.instant();
            if (!failing) {
                since = now;
                failures = 1;
                intervalStart = now;
                newCauseLines = 0;
                logged.clear();
                repeats.clear();
                logged.add(cause);
                failing = true;
                sink.warn(subject + " failing: " + cause);
                return;
            }
            failures++;
            if (now.isBefore(intervalStart.plus(interval))) {
                if (!logged.contains(cause) && newCauseLines < NEW_CAUSE_LINES) {
                    newCauseLines++;
                    logged.add(cause);
                    sink.warn(subject + " failing: " + cause);
                } else {
                    count(cause);
                }
                return;
            }
            count(cause);
            summarise(now);
        }
    }

    /** A call reached the store: ends an outage with one line. */
    public void success() {
        if (!failing) {
            return;
        }
        synchronized (this) {
            if (!failing) {
                return;
            }
            failing = false;
            sink.info(subject + " reachable again: recovered after " + failures
                    + (failures == 1 ? " failure" : " failures") + " in " + seconds(Duration.between(since, clock.instant())) + " s");
        }
    }

    /** Whether the last call failed. */
    public boolean failing() {
        return failing;
    }

    private void count(String cause) {
        String key = repeats.containsKey(cause) || repeats.size() < TRACKED_CAUSES ? cause : OTHER_CAUSES;
        repeats.merge(key, 1L, Long::sum);
    }

    private void summarise(Instant now) {
        String took = seconds(Duration.between(intervalStart, now));
        for (Map.Entry<String, Long> e : repeats.entrySet()) {
            long n = e.getValue();
            sink.warn(subject + " still failing: " + String.format(Locale.ROOT, "%,d", n) + (n == 1 ? " failure" : " failures")
                    + " in " + took + " s: " + e.getKey());
        }
        repeats.clear();
        intervalStart = now;
        newCauseLines = 0;
    }

    /** Whole seconds, or one decimal under 10 s. */
    private static String seconds(Duration d) {
        long millis = Math.max(0, d.toMillis());
        return millis >= 10_000 ? Long.toString(Math.round(millis / 1000.0))
                : String.format(Locale.ROOT, "%.1f", millis / 1000.0);
    }
}
