package io.github.apisixsession.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.SessionMetrics.Rejection;
import io.github.apisixsession.core.SessionPersistence.Kind;
import io.github.apisixsession.core.SessionPersistence.OpenSession;
import io.github.apisixsession.core.SessionPersistence.Saved;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The session lifecycle of Kong's session plugin on top of lua-resty-session 4, as a pure function
 * of (route, request, clock, storage) to a {@link RequestDecision}. It knows nothing of APISIX:
 * hosts translate their calls into {@link RequestView}s and apply the decision.
 *
 * <p>One request phase call does everything: open the session (or restore it from the remember
 * cookie), logout, login (a new session for the consumer an auth plugin attached), renewal or
 * touch, identity headers for the upstream, and the cookies for the client. The response phase is
 * for {@code identity: "upstream"} login routes and {@code failure_limit}.
 */
public final class SessionEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SessionEngine.class);

    public static final String CONSUMER_USERNAME = "X-Consumer-Username";
    public static final String CREDENTIAL_IDENTIFIER = "X-Credential-Identifier";
    public static final String CONSUMER_GROUPS = "X-Consumer-Groups";
    public static final String CONSUMER_CUSTOM_ID = "X-Consumer-Custom-ID";
    /** Identity headers the upstream trusts; a client must never be able to set them. */
    static final List<String> IDENTITY_HEADERS = List.of(CONSUMER_USERNAME, CREDENTIAL_IDENTIFIER,
            CONSUMER_GROUPS, CONSUMER_CUSTOM_ID);

    public static final String SESSION_SUBJECT = "X-Session-Subject";
    public static final String SESSION_GROUPS = "X-Session-Groups";
    public static final String SESSION_CREDENTIAL = "X-Session-Credential";
    public static final String SESSION_DATA_PREFIX = "X-Session-Data-";

    private static final Set<String> BODY_METHODS = Set.of("POST", "PUT", "PATCH", "DELETE");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Clock clock;
    private final SessionStorages storages;
    private final SessionMetrics metrics;
    private final RevokedSessions revoked;
    private final PendingCookies pendingCookies;
    private final FailureCounts failures;
    private final Renewals renewals;

    public SessionEngine(Clock clock, SessionStorages storages) {
        this(clock, storages, SessionMetrics.NONE);
    }

    public SessionEngine(Clock clock, SessionStorages storages, SessionMetrics metrics) {
        this.clock = clock;
        this.storages = storages;
        this.metrics = metrics;
        this.revoked = new RevokedSessions(clock, 200_000);
        this.pendingCookies = new PendingCookies(clock, Duration.ofSeconds(120), 100_000);
        this.failures = new FailureCounts(clock, 1_000_000);
        this.renewals = new Renewals(clock, 100_000);
    }

    public SessionStorages storages() {
        return storages;
    }

    /** Builds the per-token state: codec keys, cookie attributes and the shared storage. */
    public SessionRoute prepare(SessionConfig config) throws ConfigException {
        SessionCodec codec = new SessionCodec(config.ikms(), config.compressionThreshold());
        if (config.cookieStorage()) {
            return new SessionRoute(config, new SessionPersistence(config, codec, null, metrics),
                    new TokenTransport(config));
        }
        SessionStorages.Lease lease;
        try {
            lease = storages.lease(config.storage(), config.storageConfig());
        } catch (StorageConfigException e) {
            throw new ConfigException(e.field(), e.getMessage().substring(e.field().length() + 2));
        } catch (StorageException e) {
            throw new ConfigException(config.storage(), "storage unavailable: " + e.getMessage());
        }
        SessionStorage storage = lease.storage();
        if (config.storeMetadata() && !storage.supportsMetadata()) {
            lease.release();
            throw new ConfigException("store_metadata", "the " + config.storage() + " storage keeps no metadata");
        }
        SessionRoute route = new SessionRoute(config, new SessionPersistence(config, codec, storage, metrics),
                new TokenTransport(config));
        // the storage stays open while a conf cache or a request in flight holds the route
        lease.releaseWhenUnreachable(route);
        return route;
    }

    // ================================================================ request phase

    public RequestDecision onRequest(SessionRoute route, RequestView request) throws GatewayException {
        return new RequestCall(route, request).decide();
    }

    /** The state of one request-phase call. */
    private final class RequestCall {
        private final SessionRoute route;
        private final SessionConfig config;
        private final SessionPersistence persistence;
        private final TokenTransport transport;
        private final RequestView request;
        private final long now = clock.instant().getEpochSecond();
        private final Map<String, String> cookies;
        private final List<HttpHeader> requestChanges = new ArrayList<>();
        private final List<HttpHeader> responseHeaders = new ArrayList<>();
        private Binding binding;
        private String newSticky;

        RequestCall(SessionRoute route, RequestView request) {
            this.route = route;
            this.config = route.config();
            this.persistence = route.persistence();
            this.transport = route.transport();
            this.request = request;
            this.cookies = Cookies.parse(request.headers("Cookie"));
        }

        RequestDecision decide() throws GatewayException {
            OpenSession session;
            SessionEntry current;
            try {
                session = openSession();
                current = session == null ? null : session.entry(config.audience());
                if (session != null && current == null) {
                    metrics.rejected(Rejection.OTHER_AUDIENCE);
                } else if (current != null && isRevoked(current)) {
                    metrics.rejected(Rejection.REVOKED);
                    current = null;
                }
                if (session == null && config.remember().enabled()) {
                    session = restoreFromRemember();
                    current = session == null ? null : session.entry(config.audience());
                }
            } catch (StorageException e) {
                return storageFailure(config, "read", e);
            }

            if (current != null && isLogout(config.logout(), request)) {
                return logout(session, current);
            }

            String consumer = "";
            boolean realConsumer = false;
            if (config.identity() == Identity.APISIX) {
                consumer = request.variable("consumer_name");
                realConsumer = !consumer.isEmpty() && !consumer.equals(config.anonymousConsumer());
            }

            try {
                if (realConsumer) {
                    return authenticated(session, current, consumer);
                }
                if (current != null) {
                    return withSession(session, current);
                }
                removeIdentityHeaders();
                if (config.identity() == Identity.NONE) {
                    SessionEntry entry = SessionEntry.anonymous(config.audience(), newFamily());
                    OpenSession created = create(session, entry);
                    finishValid(created, entry);
                    return proceed();
                }
            } catch (StorageException e) {
                return storageFailure(config, "write", e);
            } catch (SessionCodecException e) {
                LOG.warn("session not saved: {}", e.reason());
                return proceed();
            }
            if (config.rejectStatus() > 0) {
                metrics.rejected(Rejection.REFUSED);
                return jsonResponse(config.rejectStatus(), "no valid session");
            }
            transport.rewriteRequestCookies(request, null, requestChanges);
            return proceed();
        }

        /**
         * APISIX authenticated this request. The username is set from consumer_name (older APISIX
         * versions do not set the header) and the groups from the session, since APISIX sets no
         * groups header; X-Credential-Identifier and X-Consumer-Custom-ID stay as APISIX's auth
         * plugin left them. A session is created (or replaced) when it does not already belong to
         * this consumer.
         */
        private RequestDecision authenticated(OpenSession session, SessionEntry current, String consumer)
                throws GatewayException, StorageException, SessionCodecException {
            SessionEntry entry = current;
            OpenSession active = session;
            if (current == null || !consumer.equals(current.subject())) {
                List<String> groups = splitList(request.variable("consumer_group_id"));
                entry = new SessionEntry(config.audience(), consumer, consumer, null, groups, Map.of(), newFamily());
                active = create(session, entry);
            } else {
                active = refresh(session);
                entry = active.entry(config.audience());
            }
            setOrRemove(CONSUMER_USERNAME, consumer);
            setOrRemove(CONSUMER_GROUPS, joinGroups(entry));
            finishValid(active, entry);
            return proceed();
        }

        private RequestDecision withSession(OpenSession session, SessionEntry current)
                throws GatewayException, StorageException, SessionCodecException {
            OpenSession active = refresh(session);
            SessionEntry entry = active.entry(config.audience());
            setOrRemove(CONSUMER_USERNAME, entry.subject());
            setOrRemove(CREDENTIAL_IDENTIFIER, entry.credential());
            setOrRemove(CONSUMER_GROUPS, joinGroups(entry));
            setOrRemove(CONSUMER_CUSTOM_ID, null);
            finishValid(active, entry);
            return proceed();
        }

        /** What every request with a valid session gets: mapped and Session-* headers, sticky. */
        private void finishValid(OpenSession session, SessionEntry entry) throws GatewayException {
            for (Map.Entry<String, String> m : config.mapHeaders().entrySet()) {
                setOrRemove(m.getKey(), entry.value(m.getValue()));
            }
            addSessionHeaders(config, config.requestHeaders(), session.header(), entry, now, requestChanges);
            addSessionHeaders(config, config.responseHeaders(), session.header(), entry, now, responseHeaders);
            if (config.stickyCookieName() != null && entry.family() != null
                    && !entry.family().equals(cookies.get(config.stickyCookieName()))) {
                newSticky = entry.family();
                transport.sendSticky(newSticky, responseHeaders);
            }
            transport.rewriteRequestCookies(request, newSticky, requestChanges);
            if (mayRunPostResp() && !responseHeaders.isEmpty()) {
                List<String> setCookies = new ArrayList<>();
                for (HttpHeader h : responseHeaders) {
                    if (h.is("Set-Cookie")) {
                        setCookies.add(h.value());
                    }
                }
                pendingCookies.put(request.variable("request_id"), setCookies);
            }
        }

        /**
         * Routes that may also run ext-plugin-post-resp lose the cookies of this phase there, so
         * they are kept for the response phase to send.
         */
        private boolean mayRunPostResp() {
            return config.identity() == Identity.UPSTREAM || config.failureLimit().enabled();
        }

        // ------------------------------------------------------------ open

        private OpenSession openSession() throws StorageException {
            String token = transport.sessionToken(request, cookies);
            if (token == null) {
                return null;
            }
            try {
                OpenSession s = persistence.open(Kind.SESSION, token, cookies::get, binding(), now);
                if (s == null) {
                    metrics.rejected(Rejection.MISSING_IN_STORAGE);
                    LOG.debug("session rejected: not in storage");
                } else if (!persistence.serverSide() && revoked.isRevoked(s.sessionId())) {
                    metrics.rejected(Rejection.REVOKED);
                    LOG.debug("session rejected: logged out");
                    return null;
                }
                return s;
            } catch (SessionCodecException e) {
                metrics.rejected(e.reason().contains("timeout exceeded") ? Rejection.EXPIRED : Rejection.INVALID);
                LOG.debug("session rejected: {}", e.reason());
                return null;
            } catch (GatewayException e) {
                throw new StorageException("request facts for bind unavailable", e);
            }
        }

        private boolean isRevoked(SessionEntry entry) {
            return !persistence.serverSide() && entry.family() != null && revoked.isRevoked("family:" + entry.family());
        }

        /**
         * lua-resty-session's remember-me: the persistent cookie restores the session as a new
         * one (fresh creation time) and is itself renewed (new id, same creation time).
         */
        private OpenSession restoreFromRemember() throws StorageException {
            String token = cookies.get(config.remember().cookieName());
            if (token == null || token.isEmpty()) {
                return null;
            }
            try {
                OpenSession remembered = persistence.open(Kind.REMEMBER, token, cookies::get, binding(), now);
                SessionEntry entry = remembered == null ? null : remembered.entry(config.audience());
                if (entry == null || isRevoked(entry)
                        || (!persistence.serverSide() && revoked.isRevoked(remembered.sessionId()))) {
                    return null;
                }
                Saved renewed = persistence.save(Kind.REMEMBER, remembered, remembered.entries(),
                        remembered.header().creationTime(), now, binding());
                transport.sendRemember(renewed.chunks(), persistence.chunkCount(remembered),
                        remembered.header().creationTime(), responseHeaders);
                Saved session = persistence.save(Kind.SESSION, null, remembered.entries(), now, now, binding());
                transport.sendSession(session.chunks(), 0, now, lifetime(session.session()), responseHeaders);
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

        private Binding binding() throws GatewayException {
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

        // ------------------------------------------------------------ save, refresh, touch

        /** A login: see {@link SessionEngine#startSession}. */
        private OpenSession create(OpenSession previous, SessionEntry entry)
                throws StorageException, SessionCodecException, GatewayException {
            return startSession(route, previous, previous == null ? 0 : persistence.chunkCount(previous),
                    config.remember().enabled() ? cookies.get(config.remember().cookieName()) : null, entry, now,
                    binding(), responseHeaders);
        }

        /** lua-resty-session's refresh: a new id past 75% of the rolling timeout, else a touch. */
        private OpenSession refresh(OpenSession session) throws GatewayException {
            SessionConfig.Timeouts t = config.timeouts();
            SessionHeader header = session.header();
            long rollingElapsed = now - header.creationTime() - header.rollingOffset();
            SessionEntry entry = session.entry(config.audience());
            boolean needsFamily = entry.family() == null
                    && (config.stickyCookieName() != null || config.failureLimit().enabled());
            if (needsFamily || (t.rolling() > 0 && rollingElapsed > ceilThreeQuarters(t.rolling()))) {
                try {
                    List<SessionEntry> entries = new ArrayList<>(session.entries());
                    if (needsFamily) {
                        entries.replaceAll(e -> e.audience().equals(config.audience()) ? e.withFamily(newFamily()) : e);
                    }
                    Binding b = binding();
                    Renewals.Result result = renewals.renew(route, session.sessionId(), t.staleTtl(),
                            () -> persistence.save(Kind.SESSION, session, entries, header.creationTime(), now, b));
                    Saved saved = result.saved();
                    transport.sendSession(saved.chunks(), persistence.chunkCount(session), now,
                            lifetime(saved.session()), responseHeaders);
                    if (result.renewedHere()) {
                        metrics.refreshed();
                    }
                    return saved.session();
                } catch (StorageException e) {
                    // the current session stays valid until its own timeouts: serve the request anyway
                    LOG.warn("session storage {} failed to renew a session: {}", config.storage(), e.getMessage());
                } catch (SessionCodecException e) {
                    LOG.warn("session not renewed: {}", e.reason());
                }
                return session;
            }
            if (t.idling() > 0 && rollingElapsed - header.idlingOffset() > t.touchThreshold()) {
                String touched = persistence.touch(session, now, binding());
                transport.sendSession(List.of(new io.github.apisixsession.core.codec.CookieChunker.Chunk(
                        config.tokenName(), touched)), 0, now, lifetime(session), responseHeaders);
                metrics.touched();
            }
            return session;
        }

        private long lifetime(OpenSession session) {
            return persistence.remainingLifetime(Kind.SESSION, session.header(), now);
        }

        // ------------------------------------------------------------ logout

        private RequestDecision logout(OpenSession session, SessionEntry current) throws GatewayException {
            List<HttpHeader> headers = new ArrayList<>();
            try {
                SessionConfig.Logout logout = config.logout();
                if (logout.allQueryArg() != null && !request.queryArgs(logout.allQueryArg()).isEmpty()
                        && current.hasSubject()) {
                    int revokedCount = 0;
                    for (String key : persistence.sessionsOf(current).keySet()) {
                        persistence.deleteKey(key, current);
                        revokedCount++;
                    }
                    LOG.info("logout everywhere: {} sessions revoked", revokedCount);
                }
                List<SessionEntry> remaining = new ArrayList<>();
                for (SessionEntry e : session.entries()) {
                    if (!e.audience().equals(config.audience())) {
                        remaining.add(e);
                    }
                }
                revokeCopies(session, current);
                if (!remaining.isEmpty()) {
                    // other audiences stay logged in: save them under a new id, without this one
                    Saved saved = persistence.save(Kind.SESSION, null, remaining, session.header().creationTime(),
                            now, binding());
                    transport.sendSession(saved.chunks(), persistence.chunkCount(session), now,
                            lifetime(saved.session()), headers);
                    persistence.delete(session);
                } else {
                    persistence.delete(session);
                    transport.expire(config.tokenName(), persistence.chunkCount(session), headers);
                }
                if (config.remember().enabled()) {
                    forgetRemembered(headers);
                }
                transport.expireSticky(headers);
            } catch (StorageException e) {
                return storageFailure(config, "delete", e);
            } catch (SessionCodecException e) {
                LOG.warn("session not saved at logout: {}", e.reason());
            }
            metrics.loggedOut();
            LOG.debug("session logged out");
            return new RequestDecision.Respond(200, headers, new byte[0]);
        }

        /** Cookie storage cannot delete a copied cookie: refuse this id and its family here. */
        private void revokeCopies(OpenSession session, SessionEntry current) {
            if (persistence.serverSide()) {
                return;
            }
            long lifetime = persistence.remainingLifetime(Kind.SESSION, session.header(), now) + 1;
            revoked.revoke(session.sessionId(), lifetime);
            if (current.family() != null) {
                // renewals keep the creation time, so the absolute timeout bounds every copy
                long absolute = config.timeouts().absolute();
                long familyLifetime = absolute > 0 ? session.header().creationTime() + absolute - now + 1
                        : SessionPersistence.MAX_TTL;
                revoked.revoke("family:" + current.family(), familyLifetime);
            }
        }

        private void forgetRemembered(List<HttpHeader> headers) throws StorageException {
            String token = cookies.get(config.remember().cookieName());
            if (token != null) {
                try {
                    OpenSession remembered = persistence.open(Kind.REMEMBER, token, cookies::get, binding(), now);
                    if (remembered != null) {
                        persistence.delete(remembered);
                        if (!persistence.serverSide()) {
                            revoked.revoke(remembered.sessionId(),
                                    persistence.remainingLifetime(Kind.REMEMBER, remembered.header(), now) + 1);
                        }
                    }
                } catch (SessionCodecException | GatewayException e) {
                    LOG.debug("remember cookie not readable at logout");
                }
            }
            transport.expire(config.remember().cookieName(), 1, headers);
        }

        // ------------------------------------------------------------ headers

        private void removeIdentityHeaders() {
            for (String name : IDENTITY_HEADERS) {
                setOrRemove(name, null);
            }
            for (String name : config.mapHeaders().keySet()) {
                setOrRemove(name, null);
            }
        }

        private void setOrRemove(String name, String value) {
            if (value != null && !value.isEmpty()) {
                requestChanges.add(new HttpHeader(name, value));
            } else if (!request.headers(name).isEmpty()) {
                requestChanges.add(HttpHeader.remove(name));
            }
        }

        private RequestDecision proceed() {
            return new RequestDecision.Proceed(requestChanges, responseHeaders);
        }
    }

    // ================================================================ response phase

    /**
     * ext-plugin-post-resp: turns an {@code identity: "upstream"} login response's
     * {@code X-Session-*} headers into a new session, counts failed responses for
     * {@code failure_limit}, and re-emits every other upstream header (APISIX keeps only the
     * headers this reply carries) with the cookies added.
     */
    public ResponseDecision onResponse(SessionRoute route, ResponseView response) throws GatewayException {
        SessionConfig config = route.config();
        SessionPersistence persistence = route.persistence();
        TokenTransport transport = route.transport();
        long now = clock.instant().getEpochSecond();
        boolean upstreamIdentity = config.identity() == Identity.UPSTREAM;
        List<HttpHeader> out = new ArrayList<>();
        String subject = null;
        String credential = null;
        List<String> groups = List.of();
        Map<String, String> extra = new LinkedHashMap<>();
        for (HttpHeader h : response.headers()) {
            if (!upstreamIdentity) {
                out.add(h);
            } else if (h.is(SESSION_SUBJECT)) {
                subject = h.value();
            } else if (h.is(SESSION_GROUPS)) {
                groups = splitList(h.value());
            } else if (h.is(SESSION_CREDENTIAL)) {
                credential = h.value();
            } else if (h.name().regionMatches(true, 0, SESSION_DATA_PREFIX, 0, SESSION_DATA_PREFIX.length())) {
                String name = SessionEntry.dataKey(h.name().substring(SESSION_DATA_PREFIX.length()));
                if (!name.isEmpty()) {
                    extra.put(name, h.value());
                }
            } else {
                out.add(h);
            }
        }
        List<String> pending = pendingCookies.take(response.variable("request_id"));
        if (upstreamIdentity && subject != null && !subject.isBlank()) {
            SessionEntry entry = new SessionEntry(config.audience(), subject.trim(), subject.trim(), credential,
                    groups, extra, newFamily());
            try {
                Binding binding = responseBinding(config, response);
                String previousToken = response.variable(transport.tokenVariable());
                OpenSession previous = openPrevious(route, previousToken, response, binding, now);
                // a smaller session than the one the client had must expire the unused chunks
                String previousRemember = config.remember().enabled()
                        ? responseCookie(response, config.remember().cookieName()) : null;
                OpenSession saved = startSession(route, previous, persistence.chunkCountOf(previousToken),
                        previousRemember, entry, now, binding, out);
                if (config.stickyCookieName() != null) {
                    transport.sendSticky(entry.family(), out);
                }
                addSessionHeaders(config, config.responseHeaders(), saved.header(), entry, now, out);
            } catch (StorageException e) {
                LOG.warn("session storage {} failed to write at login: {}", config.storage(), e.getMessage());
                return new ResponseDecision(config.storageErrorStatus(), List.of(
                        new HttpHeader("Content-Type", "application/json")));
            } catch (SessionCodecException e) {
                LOG.warn("login session not created: {}", e.reason());
            }
            return new ResponseDecision(0, out);
        }
        if (config.failureLimit().enabled() && config.failureLimit().counts(response.status())
                && countFailure(route, response, now, out)) {
            return new ResponseDecision(0, out);
        }
        for (String c : pending) {
            out.add(new HttpHeader("Set-Cookie", c));
        }
        return new ResponseDecision(0, out);
    }

    /**
     * A login: a new session id for {@code entry}, keeping the previous session's other audiences.
     * The previous session may have belonged to someone else, so it is retired (deleted, or
     * refused here for cookie storage); chunks it used beyond the new ones are expired.
     */
    private OpenSession startSession(SessionRoute route, OpenSession previous, int previousChunks,
                                     String previousRemember, SessionEntry entry, long now, Binding binding,
                                     List<HttpHeader> out)
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
        Saved saved = persistence.save(Kind.SESSION, null, entries, now, now, binding);
        if (previous != null) {
            if (persistence.serverSide()) {
                persistence.delete(previous);
            } else {
                revoked.revoke(previous.sessionId(),
                        persistence.remainingLifetime(Kind.SESSION, previous.header(), now) + 1);
            }
        }
        route.transport().sendSession(saved.chunks(), previousChunks, now,
                persistence.remainingLifetime(Kind.SESSION, saved.session().header(), now), out);
        if (route.config().remember().enabled()) {
            Saved remember = persistence.save(Kind.REMEMBER, null, entries, now, now, binding);
            route.transport().sendRemember(remember.chunks(),
                    persistence.chunkCountOf(Kind.REMEMBER, previousRemember), now, out);
        }
        metrics.created();
        return saved.session();
    }

    /**
     * Counts a failed upstream response against the session of the request; at the limit the
     * session is destroyed and its cookies expired.
     *
     * @return whether the session was destroyed
     */
    private boolean countFailure(SessionRoute route, ResponseView response, long now, List<HttpHeader> out)
            throws GatewayException {
        SessionConfig config = route.config();
        SessionPersistence persistence = route.persistence();
        String token = response.variable(route.transport().tokenVariable());
        if (token.isEmpty()) {
            return false;
        }
        try {
            // chunks are not visible here; a family is enough to count, and a chunked session's
            // first cookie still verifies (header) even if its payload cannot be joined
            Binding binding = responseBinding(config, response);
            OpenSession session = persistence.open(Kind.SESSION, token,
                    name -> responseCookie(response, name), binding, now);
            SessionEntry entry = session == null ? null : session.entry(config.audience());
            if (entry == null) {
                return false;
            }
            String key = entry.family() != null ? entry.family() : session.sessionId();
            if (failures.increment(key, persistence.remainingLifetime(Kind.SESSION, session.header(), now))
                    < config.failureLimit().limit()) {
                return false;
            }
            failures.reset(key);
            persistence.delete(session);
            if (!persistence.serverSide()) {
                revoked.revoke(session.sessionId(),
                        persistence.remainingLifetime(Kind.SESSION, session.header(), now) + 1);
                if (entry.family() != null) {
                    revoked.revoke("family:" + entry.family(),
                            persistence.remainingLifetime(Kind.SESSION, session.header(), now) + 1);
                }
            }
            route.transport().expire(config.tokenName(), persistence.chunkCount(session), out);
            route.transport().expireSticky(out);
            if (config.remember().enabled()) {
                // else the next request restores the destroyed session (same family) from it
                forgetRemembered(route, response, binding, now, out);
            }
            metrics.failureLimited();
            LOG.info("session destroyed after {} failed upstream responses", config.failureLimit().limit());
            return true;
        } catch (SessionCodecException e) {
            return false;
        } catch (StorageException e) {
            LOG.warn("session storage {} failed while applying failure_limit: {}", config.storage(), e.getMessage());
            return false;
        }
    }

    /** The client's current session in a response-phase call, or null (none, invalid, logged out). */
    private OpenSession openPrevious(SessionRoute route, String token, ResponseView response, Binding binding,
                                     long now) throws StorageException {
        if (token == null || token.isEmpty()) {
            return null;
        }
        SessionPersistence persistence = route.persistence();
        try {
            OpenSession session = persistence.open(Kind.SESSION, token, name -> responseCookie(response, name),
                    binding, now);
            if (session != null && !persistence.serverSide() && revoked.isRevoked(session.sessionId())) {
                return null;
            }
            return session;
        } catch (SessionCodecException e) {
            return null;
        }
    }

    /** The remember cookie of a response-phase call: destroyed where stored, expired for the client. */
    private void forgetRemembered(SessionRoute route, ResponseView response, Binding binding, long now,
                                  List<HttpHeader> out) throws StorageException {
        SessionPersistence persistence = route.persistence();
        String token = responseCookie(response, route.config().remember().cookieName());
        if (token != null) {
            try {
                OpenSession remembered = persistence.open(Kind.REMEMBER, token,
                        name -> responseCookie(response, name), binding, now);
                if (remembered != null) {
                    persistence.delete(remembered);
                    if (!persistence.serverSide()) {
                        revoked.revoke(remembered.sessionId(),
                                persistence.remainingLifetime(Kind.REMEMBER, remembered.header(), now) + 1);
                    }
                }
            } catch (SessionCodecException e) {
                LOG.debug("remember cookie not readable after failure_limit");
            }
        }
        route.transport().expire(route.config().remember().cookieName(), 1, out);
    }

    /**
     * The request facts a bound session's MAC covers, asked of the gateway in a response-phase
     * call (as the request phase reads them from the request): only those the route binds.
     */
    private static Binding responseBinding(SessionConfig config, ResponseView response) throws GatewayException {
        Set<SessionConfig.Bind> bind = config.bind();
        if (bind.isEmpty()) {
            return Binding.NONE;
        }
        return new Binding(bind.contains(SessionConfig.Bind.IP) ? response.variable("remote_addr") : null,
                bind.contains(SessionConfig.Bind.SCHEME) ? response.variable("scheme") : null,
                bind.contains(SessionConfig.Bind.USER_AGENT) ? response.variable("http_user_agent") : null);
    }

    private static String responseCookie(ResponseView response, String name) {
        try {
            String v = response.variable("cookie_" + name);
            return v.isEmpty() ? null : v;
        } catch (GatewayException e) {
            return null;
        }
    }

    // ================================================================ shared helpers

    private static long ceilThreeQuarters(long rollingTimeout) {
        return (rollingTimeout * 3 + 3) / 4;
    }

    private static String newFamily() {
        byte[] family = new byte[16];
        RANDOM.nextBytes(family);
        return B64.encodeToString(family);
    }

    private static boolean isLogout(SessionConfig.Logout logout, RequestView request) throws GatewayException {
        String method = request.method().toUpperCase(Locale.ROOT);
        if (!logout.methods().contains(method)) {
            return false;
        }
        if (!request.queryArgs(logout.queryArg()).isEmpty()
                || (logout.allQueryArg() != null && !request.queryArgs(logout.allQueryArg()).isEmpty())) {
            return true;
        }
        return logout.readBody() && BODY_METHODS.contains(method) && bodyHasArgument(request, logout.postArg());
    }

    /** Kong reads urlencoded and JSON bodies; a present, non-false value means logout. */
    private static boolean bodyHasArgument(RequestView request, String name) throws GatewayException {
        List<String> types = request.headers("Content-Type");
        String type = types.isEmpty() ? "" : types.get(0).toLowerCase(Locale.ROOT);
        byte[] body = request.body();
        if (body.length == 0) {
            return false;
        }
        if (type.startsWith("application/json")) {
            try {
                JsonNode node = JSON.readTree(body);
                JsonNode v = node == null ? null : node.get(name);
                return v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean());
            } catch (IOException e) {
                return false;
            }
        }
        if (type.startsWith("application/x-www-form-urlencoded") || type.isEmpty()) {
            String form = new String(body, StandardCharsets.UTF_8);
            for (String pair : form.split("&")) {
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                try {
                    if (URLDecoder.decode(key, StandardCharsets.UTF_8).equals(name)) {
                        return true;
                    }
                } catch (IllegalArgumentException e) {
                    // a malformed escape is not our argument
                }
            }
        }
        return false;
    }

    private static String joinGroups(SessionEntry entry) {
        return entry.groups().isEmpty() ? null : String.join(",", entry.groups());
    }

    /** Kong's request_headers / response_headers: Session-Id, Session-Timeout, … */
    private static void addSessionHeaders(SessionConfig config, Set<String> wanted, SessionHeader h,
                                          SessionEntry entry, long now, List<HttpHeader> out) {
        if (wanted.isEmpty()) {
            return;
        }
        SessionConfig.Timeouts t = config.timeouts();
        long idling = t.idling() > 0 ? t.idling() - (now - h.creationTime() - h.rollingOffset() - h.idlingOffset()) : -1;
        long rolling = t.rolling() > 0 ? t.rolling() - (now - h.creationTime() - h.rollingOffset()) : -1;
        long absolute = t.absolute() > 0 ? t.absolute() - (now - h.creationTime()) : -1;
        for (String name : wanted) {
            switch (name) {
                case "id" -> out.add(new HttpHeader("Session-Id", B64.encodeToString(h.sid())));
                case "audience" -> out.add(new HttpHeader("Session-Audience", entry.audience()));
                case "subject" -> {
                    if (entry.hasSubject()) {
                        out.add(new HttpHeader("Session-Subject", entry.subject()));
                    }
                }
                case "idling-timeout" -> addTimeout(out, "Session-Idling-Timeout", idling);
                case "rolling-timeout" -> addTimeout(out, "Session-Rolling-Timeout", rolling);
                case "absolute-timeout" -> addTimeout(out, "Session-Absolute-Timeout", absolute);
                case "timeout" -> {
                    long min = Long.MAX_VALUE;
                    for (long v : new long[] {idling, rolling, absolute}) {
                        if (v >= 0) {
                            min = Math.min(min, v);
                        }
                    }
                    addTimeout(out, "Session-Timeout", min == Long.MAX_VALUE ? -1 : min);
                }
                default -> {
                }
            }
        }
    }

    private static void addTimeout(List<HttpHeader> out, String name, long seconds) {
        if (seconds >= 0) {
            out.add(new HttpHeader(name, Long.toString(seconds)));
        }
    }

    private static List<String> splitList(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : value.split(",")) {
            String t = part.trim();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    private static RequestDecision storageFailure(SessionConfig config, String operation, StorageException e) {
        LOG.warn("session storage {} failed to {}: {}", config.storage(), operation, e.getMessage());
        return jsonResponse(config.storageErrorStatus(), "session storage unavailable");
    }

    static RequestDecision.Respond jsonResponse(int status, String message) {
        List<HttpHeader> headers = List.of(new HttpHeader("Content-Type", "application/json"));
        byte[] body = JSON.createObjectNode().put("message", message).toString().getBytes(StandardCharsets.UTF_8);
        return new RequestDecision.Respond(status, headers, body);
    }

    /** Every live session of a subject (the CLI's {@code sessions list}); needs store_metadata. */
    public Map<String, Instant> sessionsOf(SessionRoute route, String subject) throws StorageException {
        return route.persistence().sessionsOf(new SessionEntry(route.config().audience(), subject, null, null,
                List.of(), Map.of(), null));
    }

    /** Revokes every session of a subject (the CLI's {@code sessions revoke}); returns how many. */
    public int revokeSessionsOf(SessionRoute route, String subject) throws StorageException {
        SessionEntry entry = new SessionEntry(route.config().audience(), subject, null, null, List.of(), Map.of(), null);
        int count = 0;
        for (String key : route.persistence().sessionsOf(entry).keySet()) {
            route.persistence().deleteKey(key, entry);
            count++;
        }
        return count;
    }

    @Override
    public void close() {
        storages.close();
    }
}
