package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionMetrics.Rejection;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.config.Identity;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.IdentityHeaders;
import io.github.apisixsession.core.http.JsonResponse;
import io.github.apisixsession.core.http.LogoutRequest;
import io.github.apisixsession.core.http.SessionHeaders;
import io.github.apisixsession.core.persistence.OpenSession;
import io.github.apisixsession.core.persistence.SessionEntry;
import io.github.apisixsession.core.state.PendingCookies;
import io.github.apisixsession.core.state.ProcessState;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The request phase, Kong's {@code access.lua}: everything a request needs is decided in this one
 * call. Open the session (or restore it from the remember cookie); log out; log in the consumer
 * APISIX authenticated; renew or touch a valid session; set the identity headers for the upstream
 * and the cookies for the client; or refuse a request without a session.
 */
public final class RequestPhase {

    private static final Logger LOG = LoggerFactory.getLogger(RequestPhase.class);

    private final Clock clock;
    private final SessionMetrics metrics;
    private final PendingCookies pendingCookies;
    private final CurrentSession currentSession;
    private final Logout logout;
    private final Login login;
    private final Renewal renewal;

    public RequestPhase(Clock clock, SessionMetrics metrics, ProcessState state) {
        this.clock = clock;
        this.metrics = metrics;
        this.pendingCookies = state.pendingCookies();
        Revocations revocations = new Revocations();
        RememberMe rememberMe = new RememberMe(metrics, revocations);
        this.currentSession = new CurrentSession(metrics, revocations, rememberMe);
        this.logout = new Logout(metrics, revocations, rememberMe);
        this.login = new Login(metrics, revocations);
        this.renewal = new Renewal(metrics, state.renewals());
    }

    public RequestDecision run(SessionRoute route, RequestView request) throws GatewayException {
        RequestCall call = new RequestCall(route, request, clock.instant().getEpochSecond());
        SessionConfig config = call.config;
        CurrentSession.Found current;
        try {
            current = currentSession.find(call);
        } catch (StorageException e) {
            return StorageFailure.answer(config, "read", e);
        }
        if (current.entry() != null && LogoutRequest.matches(config.logout(), request)) {
            return logout.run(call, current.session(), current.entry());
        }
        String consumer = consumerOf(call, current);
        boolean realConsumer = !consumer.isEmpty() && !consumer.equals(config.anonymousConsumer());
        try {
            if (realConsumer) {
                return authenticated(call, current, consumer);
            }
            if (current.entry() != null) {
                return withSession(call, current.session());
            }
            IdentityHeaders.strip(call.upstream, config);
            SessionHeaders.stripFromRequest(config, call.upstream);
            if (config.identity() == Identity.NONE) {
                return anonymous(call, current.session());
            }
        } catch (StorageException e) {
            return StorageFailure.answer(config, "write", e);
        } catch (SessionCodecException e) {
            LOG.warn("session not saved: {}", e.reason());
            return call.proceed();
        }
        if (config.rejectStatus() > 0) {
            metrics.refused(call.rejection != null ? call.rejection : Rejection.NO_SESSION);
            return JsonResponse.of(config.rejectStatus(), "no valid session");
        }
        call.transport.rewriteRequestCookies(request, null, call.upstream.changes());
        return call.proceed();
    }

    /**
     * The consumer APISIX authenticated ({@code consumer_name}), or "" for none. Asking costs an
     * ExtraInfo round trip; the X-Consumer-Username header of the call (set by APISIX's auth
     * plugin over any client value) spares it where believing the header can never grant more
     * than asking: when it names the route's anonymous consumer (no consumer), or the subject of
     * the valid session this request carries (keep that session). A client that forges either
     * gets what it has without the header. Anything else (absent, another name, several values)
     * is asked. docs/security.md gives the argument.
     */
    private static String consumerOf(RequestCall call, CurrentSession.Found current) throws GatewayException {
        SessionConfig config = call.config;
        if (config.identity() != Identity.APISIX) {
            return "";
        }
        List<String> claimed = call.request.headers(IdentityHeaders.CONSUMER_USERNAME);
        if (claimed.size() == 1) {
            String name = claimed.get(0);
            if (name.equals(config.anonymousConsumer())
                    || (current.entry() != null && name.equals(current.entry().subject()))) {
                return "";
            }
        }
        return call.request.variable("consumer_name");
    }

    /**
     * APISIX authenticated this request: a session is created (or replaced) when the current one
     * does not already belong to this consumer, else it is refreshed.
     */
    private RequestDecision authenticated(RequestCall call, CurrentSession.Found current, String consumer)
            throws GatewayException, StorageException, SessionCodecException {
        OpenSession active;
        SessionEntry entry;
        if (current.entry() == null || !consumer.equals(current.entry().subject())) {
            List<String> groups = SessionEntry.groupsOf(call.request.variable("consumer_group_id"));
            entry = new SessionEntry(call.config.audience(), consumer, consumer, null, groups, Map.of(),
                    SessionEntry.newFamily());
            active = create(call, current.session(), entry);
        } else {
            active = renewal.refresh(call, current.session());
            entry = active.entry(call.config.audience());
        }
        IdentityHeaders.forConsumer(call.upstream, call.request, consumer, entry);
        finishValid(call, active, entry);
        return call.proceed();
    }

    /** The request carries a valid session of this audience. */
    private RequestDecision withSession(RequestCall call, OpenSession session) throws GatewayException {
        OpenSession active = renewal.refresh(call, session);
        SessionEntry entry = active.entry(call.config.audience());
        IdentityHeaders.forSession(call.upstream, entry);
        finishValid(call, active, entry);
        return call.proceed();
    }

    /** {@code identity: "none"}: an anonymous session on the first request (sticky sessions, carts). */
    private RequestDecision anonymous(RequestCall call, OpenSession previous)
            throws GatewayException, StorageException, SessionCodecException {
        SessionEntry entry = SessionEntry.anonymous(call.config.audience(), SessionEntry.newFamily());
        OpenSession created = create(call, previous, entry);
        finishValid(call, created, entry);
        return call.proceed();
    }

    /** A login in this phase: see {@link Login#start}. */
    private OpenSession create(RequestCall call, OpenSession previous, SessionEntry entry)
            throws StorageException, SessionCodecException, GatewayException {
        SessionConfig config = call.config;
        return login.start(call.route, previous, previous == null ? 0 : call.persistence.chunkCount(previous),
                config.remember().enabled() ? call.cookies.get(config.remember().cookieName()) : null, entry,
                call.now, call.binding(), call.responseHeaders);
    }

    /** What every request with a valid session gets: mapped and Session-* headers, the sticky cookie. */
    private void finishValid(RequestCall call, OpenSession session, SessionEntry entry) throws GatewayException {
        SessionConfig config = call.config;
        IdentityHeaders.mapped(call.upstream, config, entry);
        SessionHeaders.setOnRequest(config, session.header(), entry, call.now, call.upstream);
        SessionHeaders.addToResponse(config, session.header(), entry, call.now, call.responseHeaders);
        String newSticky = null;
        if (config.stickyCookieName() != null && entry.family() != null
                && !entry.family().equals(call.cookies.get(config.stickyCookieName()))) {
            newSticky = entry.family();
            call.transport.sendSticky(newSticky, call.responseHeaders);
        }
        call.transport.rewriteRequestCookies(call.request, newSticky, call.upstream.changes());
        if (mayRunPostResp(config) && !call.responseHeaders.isEmpty()) {
            List<String> setCookies = new ArrayList<>();
            for (HttpHeader h : call.responseHeaders) {
                if (h.is("Set-Cookie")) {
                    setCookies.add(h.value());
                }
            }
            pendingCookies.put(call.request.variable("request_id"), setCookies);
        }
    }

    /**
     * Routes that may also run ext-plugin-post-resp lose the cookies of this phase there, so they
     * are kept for the response phase to send.
     */
    private static boolean mayRunPostResp(SessionConfig config) {
        return config.identity() == Identity.UPSTREAM || config.failureLimit().enabled();
    }
}
