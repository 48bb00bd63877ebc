package io.github.apisixsession.core;

import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.TokenTransport;
import io.github.apisixsession.core.persistence.SessionPersistence;

/**
 * A route's session config made ready for requests, once per conf token: the codec with its
 * derived keys and the shared storage (in {@link SessionPersistence}) and how tokens travel
 * ({@link TokenTransport}).
 */
public final class SessionRoute {

    private final SessionConfig config;
    private final SessionPersistence persistence;
    private final TokenTransport transport;

    SessionRoute(SessionConfig config, SessionPersistence persistence, TokenTransport transport) {
        this.config = config;
        this.persistence = persistence;
        this.transport = transport;
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
