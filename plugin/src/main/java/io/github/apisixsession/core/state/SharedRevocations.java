package io.github.apisixsession.core.state;

import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import io.github.apisixsession.storage.SharedSessionState.Snapshot;

import java.time.Clock;

/**
 * This runner's copy of a shared store's revocations and markers: what the request path checks,
 * without a network round trip. Filled from the store's snapshot and its change feed, and by this
 * runner's own writes at once. Entries never go back (revocations end only by expiry, markers only
 * move forward), so a reload merges into the copy: a change that arrives while a snapshot is being
 * read is never undone by it. Bounded like {@link RevokedSessions}.
 */
public final class SharedRevocations {

    private final Clock clock;
    private final RevokedSessions revoked;
    private final RevocationMarkers markers;

    public SharedRevocations(Clock clock, long capacity, Runnable onEviction) {
        this.clock = clock;
        this.revoked = new RevokedSessions(clock, capacity, onEviction);
        this.markers = new RevocationMarkers(clock, (int) Math.min(Integer.MAX_VALUE, capacity), onEviction);
    }

    public void apply(Revocation r) {
        long seconds = r.until().getEpochSecond() - clock.millis() / 1000;
        if (seconds > 0) {
            revoked.revoke(r.id(), seconds);
        }
    }

    public void apply(Marker m) {
        markers.mark(m.audience(), m.subject(), m.issuedBefore().getEpochSecond(), m.until().getEpochSecond());
    }

    public void load(Snapshot snapshot) {
        snapshot.revocations().forEach(this::apply);
        snapshot.markers().forEach(this::apply);
    }

    public boolean isRevoked(String id) {
        return revoked.isRevoked(id);
    }

    public boolean isMarked(String audience, String subject, long creationTime) {
        return markers.refuses(audience, subject, creationTime);
    }

    public int size() {
        return revoked.size() + markers.size();
    }
}
