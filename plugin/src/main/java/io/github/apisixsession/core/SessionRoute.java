package io.github.apisixsession.core;

import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.TokenTransport;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.state.RouteRevocations;

/**
 * A route's session config made ready for requests, once per conf token: the codec with its
 * derived keys and the shared storage (in {@link SessionPersistence}) and how tokens travel
 * ({@link TokenTransport}).
 */
public final class SessionRoute {

    private final SessionConfig config;
    private final SessionPersistence persistence;
    private final TokenTransport transport;
    private final RouteRevocations revocations;

    SessionRoute(SessionConfig config, SessionPersistence persistence, TokenTransport transport,
                 RouteRevocations revocations) {
        this.config = config;
        this.persistence = persistence;
        this.transport = transport;
        this.revocations = revocations;
    }

    /** Where this route's revocations, markers and failure counters live ({@code shared_state}). */
    public RouteRevocations revocations() {
        return revocations;
    }

    public SessionConfig config() {
        return config;
    }

    public SessionPersistence persistence() {
        return persistence;
    }

    public TokenTransport transport() {
        return transport;
    }
}
