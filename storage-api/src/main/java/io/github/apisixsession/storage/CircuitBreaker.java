package io.github.apisixsession.storage;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fails calls fast while a store is down, so that during a long outage a hung store does not hold
 * every request for its full timeout: after {@code failures} consecutive failures the circuit
 * opens and calls fail at once with a {@link CircuitOpenException} for {@code openFor}; then one
 * trial call goes through (half-open): its success closes the circuit, its failure opens it again.
 *
 * <p>A few lines of our own rather than Resilience4j: one count-based rule is all a storage needs
 * here, this class has no threads and no dependencies (the storage SPI has none), and its states
 * are read by the storages' own outage log. Only failures that say the store is unreachable should
 * be reported; an answer, even an error reply, is a success.
 *
 * <p>Thread-safe. While closed, {@link #acquire} and {@link #success} cost a volatile read.
 */
public final class CircuitBreaker {

    public enum State { CLOSED, OPEN, HALF_OPEN }

    /**
     * @param failures consecutive failures that open the circuit; 0 turns the breaker off
     * @param openFor  how long calls fail fast before a trial call
     */
    public record Settings(int failures, Duration openFor) {
        public static final int DEFAULT_FAILURES = 5;
        public static final Duration DEFAULT_OPEN_FOR = Duration.ofSeconds(1);
        public static final Settings DEFAULT = new Settings(DEFAULT_FAILURES, DEFAULT_OPEN_FOR);
        public static final Settings OFF = new Settings(0, DEFAULT_OPEN_FOR);

        public Settings {
            Objects.requireNonNull(openFor, "openFor");
            if (failures < 0) {
                throw new IllegalArgumentException("failures must not be negative");
            }
            if (openFor.isNegative() || openFor.isZero()) {
                throw new IllegalArgumentException("openFor must be positive");
            }
        }

        public boolean enabled() {
            return failures > 0;
        }
    }

    private final Settings settings;
    private final Clock clock;
    private final AtomicInteger consecutive = new AtomicInteger();
    private final AtomicLong opened = new AtomicLong();
    private volatile State state = State.CLOSED;
    private volatile String lastCause = "";
    /** When the circuit opened, or when the trial call started. */
    private Instant since = Instant.EPOCH;

    /** @param clock real time (not the sessions' clock, which tests may stop) */
    public CircuitBreaker(Settings settings, Clock clock) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Before a call: returns when the call may go to the store (closed, or the half-open trial),
     * else throws.
     *
     * @throws CircuitOpenException "circuit open: &lt;last cause&gt;" while the circuit is open
     */
    public void acquire() throws CircuitOpenException {
        if (state == State.CLOSED) {
            return;
        }
        synchronized (this) {
            Instant now = clock.instant();
            switch (state) {
                case CLOSED:
                    return;
                case OPEN:
                case HALF_OPEN:
                    // a trial lost or hung as long as the cool-down is replaced by another one
                    if (!now.isBefore(since.plus(settings.openFor()))) {
                        state = State.HALF_OPEN;
                        since = now;
                        return;
                    }
                    throw new CircuitOpenException("circuit open: " + lastCause);
                default:
                    throw new IllegalStateException(state.name());
            }
        }
    }

    /** The call reached the store. */
    public void success() {
        if (state == State.CLOSED) {
            if (consecutive.get() != 0) {
                consecutive.set(0);
            }
            return;
        }
        synchronized (this) {
            state = State.CLOSED;
            consecutive.set(0);
        }
    }

    /** The call could not reach the store, because of {@code cause} (a description without secrets). */
    public void failure(String cause) {
        lastCause = Objects.requireNonNull(cause, "cause");
        if (!settings.enabled()) {
            return;
        }
        State s = state;
        if (s == State.OPEN || s == State.CLOSED && consecutive.incrementAndGet() < settings.failures()) {
            // open: a call that started before the circuit opened; it does not extend the cool-down
            return;
        }
        synchronized (this) {
            if (state == State.CLOSED && consecutive.get() < settings.failures() || state == State.OPEN) {
                return;
            }
            if (state == State.CLOSED) {
                opened.incrementAndGet();
            }
            state = State.OPEN;
            since = clock.instant();
        }
    }

    public State state() {
        return state;
    }

    /** How many times the circuit opened after being closed (each outage once, however long). */
    public long opened() {
        return opened.get();
    }

    public Settings settings() {
        return settings;
    }
}
