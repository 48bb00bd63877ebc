package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.core.ResponseView;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.config.Identity;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.SessionHeaders;
import io.github.apisixsession.core.http.UpstreamLogin;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.persistence.TokenKind;
import io.github.apisixsession.core.state.PendingCookies;
import io.github.apisixsession.core.state.ProcessState;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * The response phase (ext-plugin-post-resp), Kong's {@code header_filter.lua}: turns an
 * {@code identity: "upstream"} login response's {@code X-Session-*} headers into a new session,
 * counts failed responses for {@code failure_limit}, and otherwise re-sends the cookies the request
 * phase decided. APISIX keeps only the headers this reply carries, so it always carries every
 * upstream header the client should see.
 */
public final class ResponsePhase {

    private static final Logger LOG = LoggerFactory.getLogger(ResponsePhase.class);

    private final Clock clock;
    private final PendingCookies pendingCookies;
    private final Revocations revocations;
    private final Login login;
    private final FailureLimit failureLimit;

    public ResponsePhase(Clock clock, SessionMetrics metrics, ProcessState state) {
        this.clock = clock;
        this.pendingCookies = state.pendingCookies();
        this.revocations = new Revocations();
        RememberMe rememberMe = new RememberMe(metrics, revocations);
        this.login = new Login(metrics, revocations);
        this.failureLimit = new FailureLimit(metrics, revocations, rememberMe);
    }

    public ResponseDecision run(SessionRoute route, ResponseView response) throws GatewayException {
        ResponseCall call = new ResponseCall(route, response, clock.instant().getEpochSecond());
        SessionConfig config = call.config;
        boolean upstreamIdentity = config.identity() == Identity.UPSTREAM;
        UpstreamLogin upstreamLogin = upstreamIdentity ? UpstreamLogin.read(response.headers()) : null;
        List<HttpHeader> out = new ArrayList<>(upstreamIdentity ? upstreamLogin.others() : response.headers());
        List<String> pending = pendingCookies.take(response.variable("request_id"));
        if (upstreamIdentity && upstreamLogin.loggedIn()) {
            return loginFromUpstream(call, upstreamLogin.entry(config.audience()), out);
        }
        if (config.failureLimit().enabled() && config.failureLimit().counts(response.status())
                && failureLimit.count(call, out)) {
            return new ResponseDecision(0, out);
        }
        for (String c : pending) {
            out.add(new HttpHeader("Set-Cookie", c));
        }
        return new ResponseDecision(0, out);
    }

    /**
     * The upstream logged someone in: a new session replaces the client's current one. A storage
     * failure answers {@code storage_error_status}; the login response itself is not sent then.
     */
    private ResponseDecision loginFromUpstream(ResponseCall call, SessionEntry entry, List<HttpHeader> out)
            throws GatewayException {
        SessionConfig config = call.config;
        try {
            Binding binding = call.binding();
            String previousToken = call.token();
            OpenSession previous = openPrevious(call, previousToken, binding);
            // a smaller session than the one the client had must expire the unused chunks
            String previousRemember = config.remember().enabled() ? call.cookie(config.remember().cookieName()) : null;
            OpenSession saved = login.start(call.route, previous, call.persistence.chunkCountOf(previousToken),
                    previousRemember, entry, call.now, binding, out);
            if (config.stickyCookieName() != null) {
                call.transport.sendSticky(entry.family(), out);
            }
            SessionHeaders.addToResponse(config, saved.header(), entry, call.now, out);
        } catch (StorageException e) {
            // the login response itself is not sent: the client would think it logged in
            return ResponseDecision.answer(StorageFailure.answer(config, "write at login", e));
        } catch (SessionCodecException e) {
            LOG.warn("login session not created: {}", e.reason());
        }
        return new ResponseDecision(0, out);
    }

    /** The client's current session, or null (none, invalid, logged out). */
    private OpenSession openPrevious(ResponseCall call, String token, Binding binding) throws StorageException {
        if (token == null || token.isEmpty()) {
            return null;
        }
        try {
            OpenSession session = call.persistence.open(TokenKind.SESSION, token, call::cookie, binding, call.now);
            if (session != null && revocations.refuses(call.route, session)) {
                return null;
            }
            return session;
        } catch (SessionCodecException e) {
            return null;
        }
    }
}
