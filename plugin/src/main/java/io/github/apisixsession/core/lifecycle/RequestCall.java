package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.Cookies;
import io.github.apisixsession.core.http.TokenTransport;
import io.github.apisixsession.core.http.UpstreamHeaders;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.persistence.TokenKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One request-phase call: the route, the request, the time, and what the call decided so far. */
final class RequestCall {

    final SessionRoute route;
    final SessionConfig config;
    final SessionPersistence persistence;
    final TokenTransport transport;
    final RequestView request;
    /** Epoch seconds, read once: every step of the call sees the same time. */
    final long now;
    final Map<String, String> cookies;
    final UpstreamHeaders upstream;
    /** Headers for the client's response: Set-Cookie, the token header, Session-*. */
    final List<HttpHeader> responseHeaders = new ArrayList<>();
    /** Why the request's token was not accepted, or null (none, or accepted). */
    SessionMetrics.Rejection rejection;
    private Binding binding;

    RequestCall(SessionRoute route, RequestView request, long now) {
        this.route = route;
        this.config = route.config();
        this.persistence = route.persistence();
        this.transport = route.transport();
        this.request = request;
        this.now = now;
        this.cookies = Cookies.parse(request.headers("Cookie"));
        this.upstream = new UpstreamHeaders(request);
    }

    /** The request facts a bound session's MAC covers; only those the route binds. */
    Binding binding() throws GatewayException {
        if (binding == null) {
            Set<SessionConfig.Bind> bind = config.bind();
            if (bind.isEmpty()) {
                binding = Binding.NONE;
            } else {
                List<String> agents = request.headers("User-Agent");
                binding = new Binding(request.remoteAddress(),
                        bind.contains(SessionConfig.Bind.SCHEME) ? request.variable("scheme") : null,
                        agents.isEmpty() ? null : agents.get(0));
            }
        }
        return binding;
    }

    /** Seconds the session can still live by its rolling and absolute timeouts. */
    long lifetime(OpenSession session) {
        return persistence.remainingLifetime(TokenKind.SESSION, session.header(), now);
    }

    /** Let the request through with the changes decided so far. */
    RequestDecision proceed() {
        return new RequestDecision.Proceed(upstream.changes(), responseHeaders);
    }
}
