package io.github.apisixsession.e2e;

import io.github.apisixsession.simulator.Exchange;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/** How long a change made on one runner takes to be seen on another: polling and percentiles. */
final class PropagationDelays {

    private PropagationDelays() {
    }

    /** When the request that first got the awaited status was sent and answered (nanoTime). */
    record Seen(long sent, long answered) {
    }

    /**
     * Sends {@code send} until an answer has {@code status}.
     *
     * @param failure the error for the last answer once {@code deadlineMs} has passed
     */
    static Seen poll(Supplier<Exchange> send, int status, long deadlineMs, Function<Exchange, AssertionError> failure) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        Exchange ex;
        do {
            long sent = System.nanoTime();
            ex = send.get();
            if (ex.status() == status) {
                return new Seen(sent, System.nanoTime());
            }
        } while (System.nanoTime() < deadline);
        throw failure.apply(ex);
    }

    /** One line: {@code <label> <what> delay ms: n= p50= p99= max=}. */
    static String summary(String label, String what, List<Double> delaysMs) {
        List<Double> sorted = new ArrayList<>(delaysMs);
        sorted.sort(null);
        return String.format(Locale.ROOT, "%s %s delay ms: n=%d p50=%.2f p99=%.2f max=%.2f", label, what,
                sorted.size(), percentile(sorted, 0.50), percentile(sorted, 0.99), sorted.get(sorted.size() - 1));
    }

    private static double percentile(List<Double> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }
}
