package io.github.apisixsession.core.state;

import io.github.apisixsession.core.SessionMetrics;

import java.time.Clock;
import java.time.Duration;

/**
 * What the engine remembers between requests, in this runner process only: bounded, each entry
 * for as long as it can matter.
 *
 * @param revoked        logged-out cookie-storage sessions and families
 * @param pendingCookies request-phase cookies a post-resp call must re-send
 * @param failures       failed upstream responses per session ({@code failure_limit})
 * @param renewals       renewals in flight, shared by concurrent requests with one cookie
 */
public record ProcessState(RevokedSessions revoked, PendingCookies pendingCookies, FailureCounts failures,
                           Renewals renewals) {

    /** Most revocations kept at once (docs/security.md: what past this means). */
    public static final long REVOCATION_CAPACITY = 200_000;

    public static ProcessState create(Clock clock, SessionMetrics metrics) {
        return new ProcessState(new RevokedSessions(clock, REVOCATION_CAPACITY, metrics::revocationEvicted),
                new PendingCookies(clock, Duration.ofSeconds(120), 100_000),
                new FailureCounts(clock, 1_000_000), new Renewals(clock, 100_000));
    }
}
