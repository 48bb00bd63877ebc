package io.github.apisixsession.core.admin;

import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.storage.StorageException;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The operators' view of a route's sessions (the CLI's {@code sessions list} and
 * {@code sessions revoke}): every stored session of a subject in the route's audience. Needs a
 * server-side storage with {@code store_metadata}.
 */
public final class SessionAdmin {

    private SessionAdmin() {
    }

    /** Every live session of {@code subject}, with its expiry. */
    public static Map<String, Instant> sessionsOf(SessionRoute route, String subject) throws StorageException {
        return route.persistence().sessionsOf(subjectEntry(route, subject));
    }

    /** Revokes every session of {@code subject} (logs it out everywhere); returns how many. */
    public static int revokeSessionsOf(SessionRoute route, String subject) throws StorageException {
        return route.persistence().deleteSessionsOf(subjectEntry(route, subject));
    }

    private static SessionEntry subjectEntry(SessionRoute route, String subject) {
        return new SessionEntry(route.config().audience(), subject, null, null, List.of(), Map.of(), null);
    }
}
