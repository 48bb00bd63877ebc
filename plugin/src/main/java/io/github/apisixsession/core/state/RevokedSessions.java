package io.github.apisixsession.core.state;

import java.time.Clock;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Session ids (and families) logged out while their cookie-stored session is still
 * cryptographically valid. Kong's cookie storage cannot revoke a copied cookie at all; this closes
 * that gap within one runner process, for as long as the cookie could otherwise live.
 *
 * <p>Bounded: past {@code capacity}, the entries that expire soonest go first (they are the
 * closest to harmless), never by how often they are read, so a client cannot push out another
 * user's revocation by reading its own, only by logging out more than {@code capacity} sessions
 * that outlive it; each such eviction is reported to {@code onEviction}. Checks, on every request
 * of a cookie-storage route, read a concurrent map without locking; revocations (logouts) take a
 * lock. Not shared between runners; server-side storages revoke everywhere by deleting the entry.
 */
public final class RevokedSessions {

    private final Clock clock;
    private final long capacity;
    /** id → expiry in epoch milliseconds. */
    private final Map<String, Long> expiries = new ConcurrentHashMap<>();
    /** The same entries ordered by expiry, for eviction; guarded by {@code this}. */
    private final NavigableSet<Expiry> byExpiry = new TreeSet<>();
    private final Runnable onEviction;

    public RevokedSessions(Clock clock, long capacity, Runnable onEviction) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.clock = clock;
        this.capacity = capacity;
        this.onEviction = onEviction;
    }

    /** Remembers {@code sessionId} for {@code seconds} (at least one). */
    public synchronized void revoke(String sessionId, long seconds) {
        long now = clock.millis();
        long until = now + Math.max(1, seconds) * 1000;
        Long previous = expiries.get(sessionId);
        if (previous != null && previous >= until) {
            return; // already revoked for at least as long
        }
        if (previous != null) {
            byExpiry.remove(new Expiry(previous, sessionId));
        }
        expiries.put(sessionId, until);
        byExpiry.add(new Expiry(until, sessionId));
        dropExpired(now);
        while (expiries.size() > capacity) {
            Expiry first = byExpiry.pollFirst();
            expiries.remove(first.id(), first.until());
            onEviction.run();
        }
    }

    public boolean isRevoked(String sessionId) {
        Long until = expiries.get(sessionId);
        return until != null && until > clock.millis();
    }

    /** Revocations held now (expired ones may linger until the next revocation). */
    public int size() {
        return expiries.size();
    }

    private void dropExpired(long now) {
        Expiry first;
        while ((first = byExpiry.isEmpty() ? null : byExpiry.first()) != null && first.until() <= now) {
            byExpiry.pollFirst();
            expiries.remove(first.id(), first.until());
        }
    }

    private record Expiry(long until, String id) implements Comparable<Expiry> {
        @Override
        public int compareTo(Expiry o) {
            int c = Long.compare(until, o.until);
            return c != 0 ? c : id.compareTo(o.id);
        }
    }
}
