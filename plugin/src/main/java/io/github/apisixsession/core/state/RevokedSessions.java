package io.github.apisixsession.core.state;

import com.github.benmanes.caffeine.cache.Cache;

import java.time.Clock;

/**
 * Session ids logged out while their cookie-stored session is still cryptographically valid.
 * Kong's cookie storage cannot revoke a copied cookie at all; this closes that gap within one
 * runner process, for as long as the cookie could otherwise live. Bounded: past
 * {@code capacity} the oldest entries go first. Not shared between runners; server-side storages
 * revoke everywhere by deleting the entry.
 */
public final class RevokedSessions {

    private final Cache<String, Long> revoked;

    public RevokedSessions(Clock clock, long capacity) {
        this.revoked = ExpiringCache.build(clock, capacity, seconds -> seconds);
    }

    /** Remembers {@code sessionId} for {@code seconds} (at least one). */
    public void revoke(String sessionId, long seconds) {
        revoked.put(sessionId, Math.max(1, seconds));
    }

    public boolean isRevoked(String sessionId) {
        return revoked.getIfPresent(sessionId) != null;
    }
}
