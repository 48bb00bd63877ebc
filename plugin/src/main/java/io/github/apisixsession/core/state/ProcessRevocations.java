package io.github.apisixsession.core.state;

import java.time.Clock;

/**
 * The revocations, markers and failure counts of routes without a shared store: this runner's
 * only. Other runners never see them.
 */
public final class ProcessRevocations implements RevocationState {

    private final Clock clock;
    private final RevokedSessions revoked;
    private final RevocationMarkers markers;
    private final FailureCounts failures;

    public ProcessRevocations(Clock clock, RevokedSessions revoked, RevocationMarkers markers, FailureCounts failures) {
        this.clock = clock;
        this.revoked = revoked;
        this.markers = markers;
        this.failures = failures;
    }

    @Override
    public boolean shared() {
        return false;
    }

    @Override
    public boolean trusted() {
        return true;
    }

    @Override
    public boolean isRevoked(String id) {
        return revoked.isRevoked(id);
    }

    @Override
    public boolean isMarked(String audience, String subject, long creationTime) {
        return markers.refuses(audience, subject, creationTime);
    }

    @Override
    public boolean revoke(String id, long until) {
        revoked.revoke(id, until - clock.millis() / 1000);
        return true;
    }

    @Override
    public boolean mark(String audience, String subject, long issuedBefore, long until) {
        markers.mark(audience, subject, issuedBefore, until);
        return true;
    }

    @Override
    public long increment(String counter, long ttlSeconds) {
        return failures.increment(counter, ttlSeconds);
    }

    @Override
    public void reset(String counter) {
        failures.reset(counter);
    }
}
