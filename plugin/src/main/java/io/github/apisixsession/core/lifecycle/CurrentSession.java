package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionMetrics.Rejection;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.http.LogoutRequest;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.TokenKind;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session a request carries: its token opened (or, when there is none, restored from the
 * remember cookie), and this route's audience in it. Every refusal is counted by reason.
 */
final class CurrentSession {

    private static final Logger LOG = LoggerFactory.getLogger(CurrentSession.class);

    /**
     * @param session the opened session, or null
     * @param entry   its entry for the route's audience, or null (none, or revoked)
     */
    record Found(OpenSession session, SessionEntry entry) {
    }

    private final SessionMetrics metrics;
    private final Revocations revocations;
    private final RememberMe rememberMe;

    CurrentSession(SessionMetrics metrics, Revocations revocations, RememberMe rememberMe) {
        this.metrics = metrics;
        this.revocations = revocations;
        this.rememberMe = rememberMe;
    }

    Found find(RequestCall call) throws StorageException {
        String audience = call.config.audience();
        OpenSession session = open(call);
        SessionEntry entry = session == null ? null : session.entry(audience);
        if (session != null && entry == null) {
            rejected(call, Rejection.OTHER_AUDIENCE);
        } else if (entry != null && revocations.refusesFamily(call.route, entry, session.header())) {
            rejected(call, Rejection.REVOKED);
            entry = null;
        }
        if (session == null && call.config.remember().enabled()) {
            session = rememberMe.restore(call);
            entry = session == null ? null : session.entry(audience);
        }
        return new Found(session, entry);
    }

    /** The session of the request's token, or null (no token, invalid, expired, not stored, revoked). */
    private OpenSession open(RequestCall call) throws StorageException {
        String token = call.transport.sessionToken(call.request, call.cookies);
        if (token == null) {
            return null;
        }
        try {
            OpenSession s = call.persistence.open(TokenKind.SESSION, token, call.cookies::get, call.binding(),
                    call.now);
            if (s != null && !revocations.mayServe(call.route) && !loggingOut(call)) {
                revocations.requireTrusted(call.route);
            }
            if (s == null) {
                rejected(call, Rejection.MISSING_IN_STORAGE);
                LOG.debug("session rejected: not in storage");
            } else if (revocations.refuses(call.route, s)) {
                rejected(call, Rejection.REVOKED);
                LOG.debug("session rejected: logged out");
                return null;
            }
            return s;
        } catch (SessionCodecException e) {
            rejected(call, e.reason().contains("timeout exceeded") ? Rejection.EXPIRED : Rejection.INVALID);
            LOG.debug("session rejected: {}", e.reason());
            return null;
        } catch (GatewayException e) {
            throw new StorageException("request facts for bind unavailable", e);
        }
    }

    /**
     * A logout goes on while the shared store cannot be trusted: refusing it would keep the session
     * alive, and it is applied here, queued for the store and ends this client's cookie.
     */
    private static boolean loggingOut(RequestCall call) {
        try {
            return LogoutRequest.matches(call.config.logout(), call.request);
        } catch (GatewayException e) {
            return false; // the body could not be read: answered as any other request
        }
    }

    private void rejected(RequestCall call, Rejection reason) {
        call.rejection = reason;
        metrics.rejected(reason);
    }
}
