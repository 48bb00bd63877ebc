package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.ResponseView;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.TokenTransport;
import io.github.apisixsession.core.persistence.SessionPersistence;

import java.util.Set;

/**
 * One response-phase call. The request is no longer in view: its cookies and the facts a bound
 * session covers are asked of the gateway as variables.
 */
final class ResponseCall {

    final SessionRoute route;
    final SessionConfig config;
    final SessionPersistence persistence;
    final TokenTransport transport;
    final ResponseView response;
    final long now;

    ResponseCall(SessionRoute route, ResponseView response, long now) {
        this.route = route;
        this.config = route.config();
        this.persistence = route.persistence();
        this.transport = route.transport();
        this.response = response;
        this.now = now;
    }

    /** The request's session token, as the gateway has it ({@code cookie_session} …); empty when none. */
    String token() throws GatewayException {
        return response.variable(transport.tokenVariable());
    }

    /** A request cookie, or null when absent or not available. */
    String cookie(String name) {
        try {
            String v = response.variable("cookie_" + name);
            return v.isEmpty() ? null : v;
        } catch (GatewayException e) {
            return null;
        }
    }

    /**
     * The request facts a bound session's MAC covers, asked of the gateway (as the request phase
     * reads them from the request): only those the route binds.
     */
    Binding binding() throws GatewayException {
        Set<SessionConfig.Bind> bind = config.bind();
        if (bind.isEmpty()) {
            return Binding.NONE;
        }
        return new Binding(bind.contains(SessionConfig.Bind.IP) ? response.variable("remote_addr") : null,
                bind.contains(SessionConfig.Bind.SCHEME) ? response.variable("scheme") : null,
                bind.contains(SessionConfig.Bind.USER_AGENT) ? response.variable("http_user_agent") : null);
    }
}
