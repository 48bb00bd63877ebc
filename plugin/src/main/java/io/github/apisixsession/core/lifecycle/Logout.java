package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.JsonResponse;
import io.github.apisixsession.core.http.LogoutRequest;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SavedSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.persistence.TokenKind;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Logout of the route's audience: the request ends here (200) with its cookies expired. Other
 * audiences of the session stay logged in under a new id; with {@code logout_all_query_arg} every
 * stored session of the subject goes too.
 */
final class Logout {

    private static final Logger LOG = LoggerFactory.getLogger(Logout.class);

    private final SessionMetrics metrics;
    private final Revocations revocations;
    private final RememberMe rememberMe;

    Logout(SessionMetrics metrics, Revocations revocations, RememberMe rememberMe) {
        this.metrics = metrics;
        this.revocations = revocations;
        this.rememberMe = rememberMe;
    }

    RequestDecision run(RequestCall call, OpenSession session, SessionEntry current) throws GatewayException {
        SessionPersistence persistence = call.persistence;
        List<HttpHeader> headers = new ArrayList<>();
        // every step runs even when the shared store refuses a write (applied here and queued)
        boolean stored = true;
        try {
            if (LogoutRequest.wantsAll(call.config.logout(), call.request) && current.hasSubject()) {
                stored = logoutEverywhere(call, current);
            }
            List<SessionEntry> remaining = new ArrayList<>();
            for (SessionEntry e : session.entries()) {
                if (!e.audience().equals(call.config.audience())) {
                    remaining.add(e);
                }
            }
            stored &= revokeCopies(call, session, current);
            if (!remaining.isEmpty()) {
                // other audiences stay logged in: save them under a new id, without this one
                SavedSession saved = persistence.save(TokenKind.SESSION, null, remaining,
                        session.header().creationTime(), call.now, call.binding());
                call.transport.sendSession(saved.chunks(), persistence.chunkCount(session), call.now,
                        call.lifetime(saved.session()), headers);
                persistence.delete(session);
            } else {
                persistence.delete(session);
                call.transport.expire(call.config.tokenName(), persistence.chunkCount(session), headers);
            }
            if (call.config.remember().enabled()) {
                stored &= rememberMe.forget(call.route, call.cookies::get, call.binding(), call.now, "at logout", headers);
            }
            call.transport.expireSticky(headers);
        } catch (StorageException e) {
            return StorageFailure.answer(call.config, "delete", e);
        } catch (SessionCodecException e) {
            LOG.warn("session not saved at logout: {}", e.reason());
        }
        metrics.loggedOut();
        if (!stored && !call.route.revocations().failOpen()) {
            // logged out here and for this client; the other runners learn it once the store is back
            LOG.debug("session logged out, its revocation queued for the shared store");
            return JsonResponse.of(call.config.storageErrorStatus(),
                    "logged out; the shared session state is unavailable, the logout is queued", headers);
        }
        LOG.debug("session logged out");
        return new RequestDecision.Respond(200, headers, new byte[0]);
    }

    /**
     * Cookie storage cannot delete a copied cookie: this id and its family are refused (here, or by
     * every runner sharing the store).
     * Renewals keep the creation time, so the absolute timeout bounds every copy of the family.
     */
    private boolean revokeCopies(RequestCall call, OpenSession session, SessionEntry current) {
        boolean stored = revocations.revoke(call.route, session, call.now);
        long absolute = call.config.timeouts().absolute();
        long familyLifetime = absolute > 0 ? session.header().creationTime() + absolute - call.now + 1
                : SessionConfig.MAX_SECONDS;
        return revocations.revokeFamily(call.route, current.family(), familyLifetime, call.now) && stored;
    }

    /**
     * Every session of the subject: a marker refuses those created before now (any storage, every
     * runner sharing the store), and stored ones are deleted when the route keeps metadata.
     */
    private boolean logoutEverywhere(RequestCall call, SessionEntry current) throws StorageException {
        boolean stored = revocations.markIssuedBefore(call.route, current.audience(), current.subject(), call.now);
        int deleted = call.persistence.serverSide() && call.config.storeMetadata()
                ? call.persistence.deleteSessionsOf(current) : 0;
        LOG.info("logout everywhere: marker set, {} stored sessions deleted", deleted);
        return stored;
    }
}
