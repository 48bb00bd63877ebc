package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.state.RevokedSessions;
import io.github.apisixsession.storage.StorageException;

/**
 * Sessions that must not open again. A server-side session is deleted, which revokes it for every
 * runner; a cookie-stored one cannot be deleted, so its id (and, at logout, its family: every
 * renewed copy) is refused by this runner for as long as the cookie could otherwise live.
 */
final class Revocations {

    private static final String FAMILY = "family:";

    private final RevokedSessions revoked;

    Revocations(RevokedSessions revoked) {
        this.revoked = revoked;
    }

    /** Whether this cookie-stored session was revoked here. */
    boolean refuses(SessionPersistence persistence, OpenSession session) {
        return !persistence.serverSide() && revoked.isRevoked(session.sessionId());
    }

    /** Whether the family of this cookie-stored entry was revoked here. */
    boolean refusesFamily(SessionPersistence persistence, SessionEntry entry) {
        return !persistence.serverSide() && entry.family() != null && revoked.isRevoked(FAMILY + entry.family());
    }

    /** Deleted where stored, refused here for cookie storage until it would have expired. */
    void retire(SessionPersistence persistence, OpenSession session, long now) throws StorageException {
        persistence.delete(session);
        revoke(persistence, session, now);
    }

    /** For cookie storage: refuses this session id until it would have expired. */
    void revoke(SessionPersistence persistence, OpenSession session, long now) {
        if (!persistence.serverSide()) {
            revoked.revoke(session.sessionId(),
                    persistence.remainingLifetime(session.kind(), session.header(), now) + 1);
        }
    }

    /** For cookie storage: refuses every session of {@code family} (if any) for {@code seconds}. */
    void revokeFamily(SessionPersistence persistence, String family, long seconds) {
        if (!persistence.serverSide() && family != null) {
            revoked.revoke(FAMILY + family, seconds);
        }
    }
}
