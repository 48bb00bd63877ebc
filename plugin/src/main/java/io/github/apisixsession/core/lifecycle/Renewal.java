package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SavedSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.TokenKind;
import io.github.apisixsession.core.state.Renewals;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * lua-resty-session's refresh of a valid session: a new session id past 75% of the rolling
 * timeout (shared by concurrent requests with the same cookie), else a touch (the same id
 * re-signed with a new idling offset) once the session has idled past the touch threshold.
 */
final class Renewal {

    private static final Logger LOG = LoggerFactory.getLogger(Renewal.class);

    private final SessionMetrics metrics;
    private final Renewals renewals;

    Renewal(SessionMetrics metrics, Renewals renewals) {
        this.metrics = metrics;
        this.renewals = renewals;
    }

    /** The session to go on with: renewed, touched or as it was. Never fails the request. */
    OpenSession refresh(RequestCall call, OpenSession session) throws GatewayException {
        SessionConfig config = call.config;
        SessionConfig.Timeouts t = config.timeouts();
        SessionHeader header = session.header();
        long rollingElapsed = call.now - header.creationTime() - header.rollingOffset();
        SessionEntry entry = session.entry(config.audience());
        boolean needsFamily = entry.family() == null
                && (config.stickyCookieName() != null || config.failureLimit().enabled());
        if (needsFamily || (t.rolling() > 0 && rollingElapsed > ceilThreeQuarters(t.rolling()))) {
            return renew(call, session, needsFamily);
        }
        if (t.idling() > 0 && rollingElapsed - header.idlingOffset() > t.touchThreshold()) {
            String touched = call.persistence.touch(session, call.now, call.binding());
            call.transport.sendSession(List.of(new CookieChunker.Chunk(config.tokenName(), touched)), 0, call.now,
                    call.lifetime(session), call.responseHeaders);
            metrics.touched();
        }
        return session;
    }

    /**
     * A new session id, keeping the creation time; sessions made before families (e.g. Kong's
     * cookies) get one when the route needs it. On a storage failure the current session stays
     * valid until its own timeouts, so the request is served anyway.
     */
    private OpenSession renew(RequestCall call, OpenSession session, boolean needsFamily) throws GatewayException {
        SessionConfig config = call.config;
        SessionHeader header = session.header();
        try {
            List<SessionEntry> entries = new ArrayList<>(session.entries());
            if (needsFamily) {
                entries.replaceAll(e -> e.audience().equals(config.audience())
                        ? e.withFamily(SessionEntry.newFamily()) : e);
            }
            Binding b = call.binding();
            Renewals.Result result = renewals.renew(call.route, session.sessionId(), config.timeouts().staleTtl(),
                    () -> call.persistence.save(TokenKind.SESSION, session, entries, header.creationTime(), call.now, b));
            SavedSession saved = result.saved();
            call.transport.sendSession(saved.chunks(), call.persistence.chunkCount(session), call.now,
                    call.lifetime(saved.session()), call.responseHeaders);
            if (result.renewedHere()) {
                metrics.refreshed();
            }
            return saved.session();
        } catch (StorageException e) {
            LOG.debug("session storage {} failed to renew a session: {}", config.storage(), e.getMessage());
        } catch (SessionCodecException e) {
            LOG.warn("session not renewed: {}", e.reason());
        }
        return session;
    }

    private static long ceilThreeQuarters(long rollingTimeout) {
        return (rollingTimeout * 3 + 3) / 4;
    }
}
