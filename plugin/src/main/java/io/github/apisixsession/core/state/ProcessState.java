package io.github.apisixsession.core.state;

import io.github.apisixsession.core.SessionMetrics;

import java.time.Clock;
import java.time.Duration;

/**
 * What the engine remembers between requests, in this runner process: bounded, each entry for as
 * long as it can matter.
 *
 * @param local          revocations, markers and failure counts of routes without a shared store
 * @param pendingCookies request-phase cookies a post-resp call must re-send
 * @param renewals       renewals in flight, shared by concurrent requests with one cookie
 * @param sharedStores   the local copies of the shared stores routes use
 */
public record ProcessState(ProcessRevocations local, PendingCookies pendingCookies, Renewals renewals,
                           SharedStores sharedStores) implements AutoCloseable {

    /** Most revocations kept at once, per runner and per shared store (docs/security.md: what past this means). */
    public static final long REVOCATION_CAPACITY = 200_000;

    public static ProcessState create(Clock clock, SessionMetrics metrics) {
        ProcessRevocations local = new ProcessRevocations(clock,
                new RevokedSessions(clock, REVOCATION_CAPACITY, metrics::revocationEvicted),
                new RevocationMarkers(clock, (int) REVOCATION_CAPACITY, metrics::revocationEvicted),
                new FailureCounts(clock, 1_000_000));
        return new ProcessState(local, new PendingCookies(clock, Duration.ofSeconds(120), 100_000),
                new Renewals(clock, 100_000), new SharedStores(clock, metrics, REVOCATION_CAPACITY));
    }

    @Override
    public void close() {
        sharedStores.close();
    }
}
