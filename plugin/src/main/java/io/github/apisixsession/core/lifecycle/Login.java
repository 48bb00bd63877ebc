package io.github.apisixsession.core.lifecycle;

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

import java.util.ArrayList;
import java.util.List;

/**
 * A login: a new session id for the subject, in either phase (the consumer APISIX authenticated,
 * or the upstream's {@code X-Session-Subject}).
 */
final class Login {

    private final SessionMetrics metrics;
    private final Revocations revocations;

    Login(SessionMetrics metrics, Revocations revocations) {
        this.metrics = metrics;
        this.revocations = revocations;
    }

    /**
     * Starts a session for {@code entry}, keeping the previous session's other audiences. The
     * previous session may have belonged to someone else, so it is retired; chunks it used beyond
     * the new ones are expired. With remember-me, a new remember cookie too.
     *
     * @param previousChunks   cookies the previous session occupied
     * @param previousRemember the request's remember cookie, or null
     */
    OpenSession start(SessionRoute route, OpenSession previous, int previousChunks, String previousRemember,
                      SessionEntry entry, long now, Binding binding, List<HttpHeader> out)
            throws StorageException, SessionCodecException {
        SessionPersistence persistence = route.persistence();
        List<SessionEntry> entries = new ArrayList<>();
        if (previous != null) {
            for (SessionEntry e : previous.entries()) {
                if (!e.audience().equals(entry.audience())) {
                    entries.add(e);
                }
            }
        }
        entries.add(entry);
        SavedSession saved = persistence.save(TokenKind.SESSION, null, entries, now, now, binding);
        if (previous != null) {
            Revocations.requireWritten(route, revocations.retire(route, previous, now));
        }
        route.transport().sendSession(saved.chunks(), previousChunks, now,
                persistence.remainingLifetime(TokenKind.SESSION, saved.session().header(), now), out);
        if (route.config().remember().enabled()) {
            SavedSession remember = persistence.save(TokenKind.REMEMBER, null, entries, now, now, binding);
            route.transport().sendRemember(remember.chunks(),
                    persistence.chunkCountOf(TokenKind.REMEMBER, previousRemember), now, out);
        }
        metrics.created();
        return saved.session();
    }
}
