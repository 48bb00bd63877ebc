package io.github.apisixsession.storage;

import java.time.Clock;
import java.util.Objects;

/**
 * One storage instance's {@link CircuitBreaker} and {@link OutageLog} together, so that a
 * storage reports each call once: {@link #acquire} before it, then {@link #reached} or
 * {@link #unreachable}. Calls failed fast by the open circuit count as failures of the outage
 * (their cause, "circuit open: …", is logged once).
 */
public final class OutageGuard {

    private final CircuitBreaker breaker;
    private final OutageLog log;

    /**
     * @param subject what fails, for the log, e.g. {@code redis storage (127.0.0.1:6379)}; no secrets
     * @param clock   real time (not the sessions' clock, which tests may stop)
     */
    public OutageGuard(String subject, CircuitBreaker.Settings settings, Clock clock, OutageLog.Sink sink) {
        this(new CircuitBreaker(settings, clock), new OutageLog(subject, clock, OutageLog.DEFAULT_INTERVAL, sink));
    }

    OutageGuard(CircuitBreaker breaker, OutageLog log) {
        this.breaker = Objects.requireNonNull(breaker, "breaker");
        this.log = Objects.requireNonNull(log, "log");
    }

    /** Before a call to the store. */
    public void acquire() throws CircuitOpenException {
        try {
            breaker.acquire();
        } catch (CircuitOpenException e) {
            log.failure(e.getMessage());
            throw e;
        }
    }

    /** The call got an answer from the store (an error reply included). */
    public void reached() {
        breaker.success();
        log.success();
    }

    /** The call could not reach the store or had no answer in time; {@code cause} without secrets. */
    public void unreachable(String cause) {
        breaker.failure(cause);
        log.failure(cause);
    }

    /** Whether the last call failed (tests). */
    public boolean failing() {
        return log.failing();
    }

    public CircuitBreaker breaker() {
        return breaker;
    }
}
