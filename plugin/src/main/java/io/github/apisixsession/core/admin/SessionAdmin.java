package io.github.apisixsession.core.admin;

import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.state.RevocationState;
import io.github.apisixsession.storage.StorageException;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The operators' view of a route's sessions (the CLI's {@code sessions list} and
 * {@code sessions revoke}). Listing needs a server-side storage with {@code store_metadata};
 * revoking sets a "log out everywhere" marker in the route's shared store (any storage) and
 * deletes the stored sessions where metadata lists them.
 */
public final class SessionAdmin {

    private SessionAdmin() {
    }

    /** Every live session of {@code subject}, with its expiry. */
    public static Map<String, Instant> sessionsOf(SessionRoute route, String subject) throws StorageException {
        return route.persistence().sessionsOf(subjectEntry(route, subject));
    }

    /**
     * Revokes every session of {@code subject} (logs it out everywhere): a marker refuses those
     * created before now; stored ones are deleted too.
     *
     * @return how many stored sessions were deleted (0 without metadata)
     */
    public static int revokeSessionsOf(SessionRoute route, String subject, Clock clock) throws StorageException {
        mark(route, subject, clock);
        SessionPersistence persistence = route.persistence();
        return persistence.serverSide() && route.config().storeMetadata()
                ? persistence.deleteSessionsOf(subjectEntry(route, subject)) : 0;
    }

    /** Revokes every session of the route's audience created before now (a marker only). */
    public static void revokeAudience(SessionRoute route, Clock clock) throws StorageException {
        mark(route, null, clock);
    }

    /** Whether markers set here reach every runner (a shared store), not only this process. */
    public static boolean shared(SessionRoute route) {
        return route.revocations().current().shared();
    }

    private static void mark(SessionRoute route, String subject, Clock clock) throws StorageException {
        long now = clock.instant().getEpochSecond();
        long until = now + route.config().longestLifetime() + 1;
        SessionPersistence persistence = route.persistence();
        RevocationState state = route.revocations().current();
        if (!state.mark(persistence.markerAudience(route.config().audience()),
                subject == null ? null : persistence.markerSubject(subject), now, until)) {
            throw new StorageException("the shared store refused the marker: not applied");
        }
    }

    private static SessionEntry subjectEntry(SessionRoute route, String subject) {
        return new SessionEntry(route.config().audience(), subject, null, null, List.of(), Map.of(), null);
    }
}
