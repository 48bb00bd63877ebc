package io.github.apisixsession.core.state;

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

    public static ProcessState create(Clock clock) {
        return new ProcessState(new RevokedSessions(clock, 200_000),
                new PendingCookies(clock, Duration.ofSeconds(120), 100_000),
                new FailureCounts(clock, 1_000_000), new Renewals(clock, 100_000));
    }
}
