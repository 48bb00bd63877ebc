package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.persistence.TokenKind;
import io.github.apisixsession.core.state.RevocationState;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * {@code failure_limit}: failed upstream responses are counted per session family; at the limit
 * the session (every renewed copy) is destroyed and its cookies expired.
 */
final class FailureLimit {

    private static final Logger LOG = LoggerFactory.getLogger(FailureLimit.class);

    private final SessionMetrics metrics;
    private final Revocations revocations;
    private final RememberMe rememberMe;

    FailureLimit(SessionMetrics metrics, Revocations revocations, RememberMe rememberMe) {
        this.metrics = metrics;
        this.revocations = revocations;
        this.rememberMe = rememberMe;
    }

    /**
     * Counts this failed response against the request's session.
     *
     * @return whether the limit was reached and the session destroyed
     */
    boolean count(ResponseCall call, List<HttpHeader> out) throws GatewayException {
        SessionConfig config = call.config;
        SessionPersistence persistence = call.persistence;
        String token = call.token();
        if (token.isEmpty()) {
            return false;
        }
        try {
            // chunks are not visible here; a family is enough to count, and a chunked session's
            // first cookie still verifies (header) even if its payload cannot be joined
            Binding binding = call.binding();
            OpenSession session = persistence.open(TokenKind.SESSION, token, call::cookie, binding, call.now);
            SessionEntry entry = session == null ? null : session.entry(config.audience());
            if (entry == null) {
                return false;
            }
            long lifetime = persistence.remainingLifetime(TokenKind.SESSION, session.header(), call.now);
            // counted in the route's shared store (every runner's failures), else in this runner
            RevocationState failures = call.route.revocations().current();
            String key = "failures:" + (entry.family() != null ? entry.family() : session.sessionId());
            if (failures.increment(key, lifetime) < config.failureLimit().limit()) {
                return false;
            }
            failures.reset(key);
            boolean stored = revocations.retire(call.route, session, call.now);
            stored &= revocations.revokeFamily(call.route, entry.family(), lifetime + 1, call.now);
            call.transport.expire(config.tokenName(), persistence.chunkCount(session), out);
            call.transport.expireSticky(out);
            if (config.remember().enabled()) {
                // else the next request restores the destroyed session (same family) from it
                stored &= rememberMe.forget(call.route, call::cookie, binding, call.now, "after failure_limit", out);
            }
            Revocations.requireWritten(call.route, stored);
            metrics.failureLimited();
            LOG.info("session destroyed after {} failed upstream responses", config.failureLimit().limit());
            return true;
        } catch (SessionCodecException e) {
            return false;
        } catch (StorageException e) {
            LOG.debug("session storage {} failed while applying failure_limit: {}", config.storage(), e.getMessage());
            return false;
        }
    }
}
