package io.github.apisixsession.core.state;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * "Log out everywhere" markers: sessions of a subject (or of a whole audience) in an audience
 * issued before a time are refused, until the last session such a marker can concern would have
 * expired anyway. Audiences and subjects are compared in the form the engine stores them in
 * metadata (base64url, the subject hashed with {@code hash_subject}), so a marker never holds a
 * subject in clear when the route hashes it.
 *
 * <p>Markers only move forward: a later marker for the same pair with an earlier time is ignored.
 * Bounded: past {@code capacity} the expired ones go, then the ones that expire soonest.
 */
public final class RevocationMarkers {

    /** The subject of an audience-wide marker in the map (a real subject key is never empty). */
    private static final String EVERYONE = "";

    private final Clock clock;
    private final int capacity;
    private final Runnable onEviction;
    /** (audience, subject) → marker. */
    private final Map<Key, Marker> markers = new ConcurrentHashMap<>();

    public RevocationMarkers(Clock clock, int capacity, Runnable onEviction) {
        this.clock = clock;
        this.capacity = capacity;
        this.onEviction = onEviction;
    }

    /**
     * Refuses sessions of {@code subject} ({@code null}: everyone) in {@code audience} created
     * before {@code issuedBefore} (epoch seconds) until {@code until} (epoch seconds).
     */
    public void mark(String audience, String subject, long issuedBefore, long until) {
        Key key = new Key(audience, subject == null ? EVERYONE : subject);
        markers.merge(key, new Marker(issuedBefore, until), (old, now) -> now.issuedBefore > old.issuedBefore
                ? new Marker(now.issuedBefore, Math.max(now.until, old.until))
                : new Marker(old.issuedBefore, Math.max(now.until, old.until)));
        if (markers.size() > capacity) {
            trim();
        }
    }

    /** Whether a session of {@code subject} in {@code audience} created at {@code creationTime} is refused. */
    public boolean refuses(String audience, String subject, long creationTime) {
        if (markers.isEmpty()) {
            return false;
        }
        long now = clock.millis() / 1000;
        return refusedBy(new Key(audience, EVERYONE), creationTime, now)
                || (subject != null && refusedBy(new Key(audience, subject), creationTime, now));
    }

    public int size() {
        return markers.size();
    }

    private boolean refusedBy(Key key, long creationTime, long now) {
        Marker m = markers.get(key);
        return m != null && m.until > now && creationTime < m.issuedBefore;
    }

    private synchronized void trim() {
        long now = clock.millis() / 1000;
        markers.entrySet().removeIf(e -> e.getValue().until <= now);
        while (markers.size() > capacity) {
            Map.Entry<Key, Marker> soonest = null;
            for (Map.Entry<Key, Marker> e : markers.entrySet()) {
                if (soonest == null || e.getValue().until < soonest.getValue().until) {
                    soonest = e;
                }
            }
            if (soonest == null || !markers.remove(soonest.getKey(), soonest.getValue())) {
                continue;
            }
            onEviction.run();
        }
    }

    private record Key(String audience, String subject) {
    }

    private record Marker(long issuedBefore, long until) {
    }
}
