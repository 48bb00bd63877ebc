package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SavedSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.persistence.TokenKind;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.function.Function;

/**
 * lua-resty-session's remember-me: a persistent cookie that restores the session once the browser
 * session ended, and is forgotten with it (logout, failure_limit).
 */
final class RememberMe {

    private static final Logger LOG = LoggerFactory.getLogger(RememberMe.class);

    private final SessionMetrics metrics;
    private final Revocations revocations;

    RememberMe(SessionMetrics metrics, Revocations revocations) {
        this.metrics = metrics;
        this.revocations = revocations;
    }

    /**
     * The session restored from the request's remember cookie as a new one (fresh creation time);
     * the remember cookie itself is renewed (new id, same creation time). Null when there is none.
     */
    OpenSession restore(RequestCall call) throws StorageException {
        String token = call.cookies.get(call.config.remember().cookieName());
        if (token == null || token.isEmpty()) {
            return null;
        }
        SessionPersistence persistence = call.persistence;
        try {
            OpenSession remembered = persistence.open(TokenKind.REMEMBER, token, call.cookies::get, call.binding(),
                    call.now);
            SessionEntry entry = remembered == null ? null : remembered.entry(call.config.audience());
            if (entry == null || revocations.refusesFamily(call.route, entry, remembered.header())
                    || revocations.refuses(call.route, remembered)) {
                return null;
            }
            SavedSession renewed = persistence.save(TokenKind.REMEMBER, remembered, remembered.entries(),
                    remembered.header().creationTime(), call.now, call.binding());
            call.transport.sendRemember(renewed.chunks(), persistence.chunkCount(remembered),
                    remembered.header().creationTime(), call.responseHeaders);
            SavedSession session = persistence.save(TokenKind.SESSION, null, remembered.entries(), call.now, call.now,
                    call.binding());
            call.transport.sendSession(session.chunks(), 0, call.now, call.lifetime(session.session()),
                    call.responseHeaders);
            metrics.created();
            LOG.debug("session restored from the remember cookie");
            return session.session();
        } catch (SessionCodecException e) {
            LOG.debug("remember cookie rejected: {}", e.reason());
            return null;
        } catch (GatewayException e) {
            throw new StorageException("request facts for bind unavailable", e);
        }
    }

    /**
     * The remember cookie named in {@code cookies}: destroyed where stored, refused here for cookie
     * storage, and expired for the client.
     *
     * @param occasion for the debug log: "at logout", "after failure_limit"
     * @return whether its revocation reached the shared store (true when none was needed); see {@link Revocations#revoke}
     */
    boolean forget(SessionRoute route, Function<String, String> cookies, Binding binding, long now, String occasion,
                List<HttpHeader> out) throws StorageException {
        SessionPersistence persistence = route.persistence();
        String name = route.config().remember().cookieName();
        String token = cookies.apply(name);
        boolean stored = true;
        if (token != null) {
            try {
                OpenSession remembered = persistence.open(TokenKind.REMEMBER, token, cookies, binding, now);
                if (remembered != null) {
                    stored = revocations.retire(route, remembered, now);
                }
            } catch (SessionCodecException e) {
                LOG.debug("remember cookie not readable {}", occasion);
            }
        }
        route.transport().expire(name, 1, out);
        return stored;
    }
}
