package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.state.RevocationState;
import io.github.apisixsession.storage.StorageException;

/**
 * Sessions that must not open again. A server-side session is deleted, which revokes it for every
 * runner; a cookie-stored one cannot be deleted, so its id (and, at logout, its family: every
 * renewed copy) is refused for as long as the cookie could otherwise live: by this runner, or by
 * every runner sharing the route's store ({@code shared_state}), which then also covers
 * server-side sessions (one mechanism). "Log out everywhere" sets a marker: sessions of the
 * subject created before it are refused.
 *
 * <p>Checks read a local copy only. While a shared store cannot be trusted (its feed lost for
 * longer than a moment, or a write of ours still queued), a route with {@code on_failure: "closed"}
 * answers {@code storage_error_status} rather than believe it.
 */
final class Revocations {

    private static final String FAMILY = "family:";

    private static RevocationState of(SessionRoute route) {
        return route.revocations().current();
    }

    /** Whether revocations are written and checked for this route: cookie storage, or any with a shared store. */
    private static boolean applies(SessionRoute route, RevocationState state) {
        return !route.persistence().serverSide() || state.shared();
    }

    /** Whether the route may serve on its copy now: trusted, or failing open. */
    boolean mayServe(SessionRoute route) {
        return of(route).trusted() || route.revocations().failOpen();
    }

    /**
     * Fails when the route's copy cannot be trusted and it fails closed. A copy never loaded yet (a
     * runner starting) is waited for, as long as a starting storage is at PrepareConf.
     */
    void requireTrusted(SessionRoute route) throws StorageException {
        RevocationState state = of(route);
        if (state.trusted() || route.revocations().failOpen()) {
            return;
        }
        state.awaitLoaded(SessionEngine.STORAGE_START_WAIT);
        if (!state.trusted()) {
            throw new StorageException("shared session state unavailable (feed lost or writes queued)");
        }
    }

    /** Whether this session id was revoked. */
    boolean refuses(SessionRoute route, OpenSession session) {
        RevocationState state = of(route);
        return applies(route, state) && state.isRevoked(session.sessionId());
    }

    /** Whether the family of this entry was revoked, or a marker refuses it (created before it). */
    boolean refusesFamily(SessionRoute route, SessionEntry entry, SessionHeader header) {
        RevocationState state = of(route);
        if (entry.family() != null && applies(route, state) && state.isRevoked(FAMILY + entry.family())) {
            return true;
        }
        SessionPersistence persistence = route.persistence();
        return entry.hasSubject() && state.isMarked(persistence.markerAudience(entry.audience()),
                persistence.markerSubject(entry.subject()), header.creationTime());
    }

    /**
     * Deleted where stored, refused (here or everywhere) until it would have expired.
     *
     * @return whether the shared store has the revocation (or none applies); else it is queued
     * @throws StorageException when the session storage cannot delete it
     */
    boolean retire(SessionRoute route, OpenSession session, long now) throws StorageException {
        route.persistence().delete(session);
        return revoke(route, session, now);
    }

    /**
     * Refuses this session id until it would have expired.
     *
     * @return whether the shared store has it (or none applies); else it is applied here and queued
     */
    boolean revoke(SessionRoute route, OpenSession session, long now) {
        RevocationState state = of(route);
        if (!applies(route, state)) {
            return true;
        }
        long lifetime = route.persistence().remainingLifetime(session.kind(), session.header(), now);
        return state.revoke(session.sessionId(), now + lifetime + 1);
    }

    /** Refuses every session of {@code family} (if any) for {@code seconds}; as {@link #revoke}. */
    boolean revokeFamily(SessionRoute route, String family, long seconds, long now) {
        RevocationState state = of(route);
        return family == null || !applies(route, state) || state.revoke(FAMILY + family, now + seconds);
    }

    /**
     * "Log out everywhere": refuses every session of {@code subject} ({@code null}: of the whole
     * audience) created before {@code now}, for as long as one could live; as {@link #revoke}.
     */
    boolean markIssuedBefore(SessionRoute route, String audience, String subject, long now) {
        SessionPersistence persistence = route.persistence();
        return of(route).mark(persistence.markerAudience(audience),
                subject == null ? null : persistence.markerSubject(subject), now, now + route.config().longestLifetime() + 1);
    }

    /**
     * After every write of a step was made (each applied here, the refused ones queued), a route
     * that fails closed says that not all reached the store.
     */
    static void requireWritten(SessionRoute route, boolean stored) throws StorageException {
        if (!stored && !route.revocations().failOpen()) {
            throw new StorageException("shared session state unavailable: the revocation is queued");
        }
    }
}
