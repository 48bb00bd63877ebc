package io.github.apisixsession.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.codec.CookieAttributes;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.core.codec.SetCookieRenderer;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
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
 * <p>One request phase call does everything: open the cookie, logout, login (a new session for
 * the consumer an auth plugin attached), refresh or touch, identity headers for the upstream, and
 * the Set-Cookie values for the client. The response phase is only for {@code identity:
 * "upstream"} login routes.
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

    private static final long MAX_TTL = SessionConfigParser.MAX_SECONDS;
    private static final long MAX_IDLING_OFFSET = 0xFFFFFFL;
    private static final Set<String> BODY_METHODS = Set.of("POST", "PUT", "PATCH", "DELETE");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final Clock clock;
    private final SessionStorages storages;
    private final RevokedSessions revoked;
    private final PendingCookies pendingCookies;

    public SessionEngine(Clock clock, SessionStorages storages) {
        this.clock = clock;
        this.storages = storages;
        this.revoked = new RevokedSessions(clock, 200_000);
        this.pendingCookies = new PendingCookies(clock, Duration.ofSeconds(120), 100_000);
    }

    public SessionStorages storages() {
        return storages;
    }

    /** Builds the per-token state: codec keys, cookie attributes and the shared storage. */
    public SessionRoute prepare(SessionConfig config) throws ConfigException {
        SessionCodec codec = new SessionCodec(config.ikms(), config.compressionThreshold());
        CookieAttributes attributes = new CookieAttributes(config.cookieDomain(), config.cookiePath(),
                config.cookieSameSite(), config.cookiePriority(), config.cookiePartitioned(), config.cookieSecure(),
                config.cookieHttpOnly()).forName(config.cookieName());
        SessionStorage storage = null;
        if (!config.cookieStorage()) {
            try {
                storage = storages.obtain(config.storage(), config.storageConfig());
            } catch (StorageConfigException e) {
                throw new ConfigException(e.field(), e.getMessage().substring(e.field().length() + 2));
            } catch (StorageException e) {
                throw new ConfigException(config.storage(), "storage unavailable: " + e.getMessage());
            }
        }
        return new SessionRoute(config, codec, attributes,
                new SessionCodec.Timeouts(config.idlingTimeout(), config.rollingTimeout(), config.absoluteTimeout()),
                storage);
    }

    // ---------------------------------------------------------------- request phase

    public RequestDecision onRequest(SessionRoute route, RequestView request) throws GatewayException {
        SessionConfig config = route.config();
        long now = clock.instant().getEpochSecond();
        Map<String, String> cookies = Cookies.parse(request.headers("Cookie"));

        Session session;
        try {
            session = open(route, cookies, now);
        } catch (StorageException e) {
            return storageFailure(route, "read", e);
        }
        SessionEntry current = session == null ? null : session.entry(config.audience());

        if (current != null && isLogout(config, request)) {
            return logout(route, session, now);
        }

        String consumer = "";
        boolean realConsumer = false;
        if (config.identity() == Identity.APISIX) {
            consumer = request.variable("consumer_name");
            realConsumer = !consumer.isEmpty() && !consumer.equals(config.anonymousConsumer());
        }

        List<HttpHeader> requestChanges = new ArrayList<>();
        List<HttpHeader> responseHeaders = new ArrayList<>();

        if (realConsumer) {
            // APISIX authenticated this request. The username is set from consumer_name (older
            // APISIX versions do not set the header) and the groups from the session, since APISIX
            // sets no groups header; X-Credential-Identifier and X-Consumer-Custom-ID stay as
            // APISIX's auth plugin left them. A session is created (or replaced) when it does not
            // already belong to this consumer.
            SessionEntry entry = current;
            Session active = session;
            if (current == null || !consumer.equals(current.subject())) {
                List<String> groups = splitList(request.variable("consumer_group_id"));
                entry = new SessionEntry(config.audience(), consumer, consumer, null, groups, Map.of());
                Saved saved;
                try {
                    saved = create(route, session, entry, now);
                } catch (StorageException e) {
                    return storageFailure(route, "write", e);
                } catch (SessionCodecException e) {
                    return tooLarge(e, requestChanges);
                }
                active = saved.session();
                addSetCookies(responseHeaders, saved.setCookies());
            } else {
                addSetCookies(responseHeaders, refresh(route, session, now));
            }
            setOrRemove(request, CONSUMER_USERNAME, consumer, requestChanges);
            setOrRemove(request, CONSUMER_GROUPS, joinGroups(entry), requestChanges);
            addSessionHeaders(config, config.requestHeaders(), active, entry, now, requestChanges);
            addSessionHeaders(config, config.responseHeaders(), active, entry, now, responseHeaders);
            return new RequestDecision.Proceed(requestChanges, responseHeaders);
        }

        if (current != null) {
            List<String> setCookies = refresh(route, session, now);
            addSetCookies(responseHeaders, setCookies);
            setIdentityHeaders(request, current, requestChanges);
            addSessionHeaders(config, config.requestHeaders(), session, current, now, requestChanges);
            addSessionHeaders(config, config.responseHeaders(), session, current, now, responseHeaders);
            if (config.identity() == Identity.UPSTREAM && !setCookies.isEmpty()) {
                pendingCookies.put(request.variable("request_id"), setCookies);
            }
            return new RequestDecision.Proceed(requestChanges, responseHeaders);
        }

        removeIdentityHeaders(request, requestChanges);
        if (config.identity() == Identity.NONE) {
            SessionEntry entry = SessionEntry.anonymous(config.audience());
            Saved saved;
            try {
                saved = create(route, session, entry, now);
            } catch (StorageException e) {
                return storageFailure(route, "write", e);
            } catch (SessionCodecException e) {
                return tooLarge(e, requestChanges);
            }
            addSetCookies(responseHeaders, saved.setCookies());
            addSessionHeaders(config, config.requestHeaders(), saved.session(), entry, now, requestChanges);
            addSessionHeaders(config, config.responseHeaders(), saved.session(), entry, now, responseHeaders);
            return new RequestDecision.Proceed(requestChanges, responseHeaders);
        }
        if (config.rejectStatus() > 0) {
            return jsonResponse(config.rejectStatus(), List.of(), "no valid session");
        }
        return new RequestDecision.Proceed(requestChanges, responseHeaders);
    }

    // ---------------------------------------------------------------- response phase

    /**
     * ext-plugin-post-resp of an {@code identity: "upstream"} route: turns the upstream's
     * {@code X-Session-*} headers into a new session and re-emits every other upstream header, as
     * APISIX keeps only the headers this reply carries.
     */
    public ResponseDecision onResponse(SessionRoute route, ResponseView response) throws GatewayException {
        SessionConfig config = route.config();
        long now = clock.instant().getEpochSecond();
        List<HttpHeader> out = new ArrayList<>();
        String subject = null;
        String credential = null;
        List<String> groups = List.of();
        Map<String, String> extra = new LinkedHashMap<>();
        for (HttpHeader h : response.headers()) {
            if (h.is(SESSION_SUBJECT)) {
                subject = h.value();
            } else if (h.is(SESSION_GROUPS)) {
                groups = splitList(h.value());
            } else if (h.is(SESSION_CREDENTIAL)) {
                credential = h.value();
            } else if (h.name().regionMatches(true, 0, SESSION_DATA_PREFIX, 0, SESSION_DATA_PREFIX.length())) {
                String name = h.name().substring(SESSION_DATA_PREFIX.length()).toLowerCase(Locale.ROOT);
                if (!name.isEmpty()) {
                    extra.put(name, h.value());
                }
            } else {
                out.add(h);
            }
        }
        List<String> pending = pendingCookies.take(response.variable("request_id"));
        if (config.identity() == Identity.UPSTREAM && subject != null && !subject.isBlank()) {
            SessionEntry entry = new SessionEntry(config.audience(), subject.trim(), subject.trim(), credential,
                    groups, extra);
            try {
                Saved saved = create(route, null, entry, now);
                addSetCookies(out, saved.setCookies());
                addSessionHeaders(config, config.responseHeaders(), saved.session(), entry, now, out);
            } catch (StorageException e) {
                LOG.warn("session storage {} failed to write at login: {}", config.storage(), e.getMessage());
                return new ResponseDecision(config.storageErrorStatus(), List.of(
                        new HttpHeader("Content-Type", "application/json")));
            } catch (SessionCodecException e) {
                LOG.warn("login session not created: {}", e.reason());
            }
        } else {
            addSetCookies(out, pending);
        }
        return new ResponseDecision(0, out);
    }

    // ---------------------------------------------------------------- open

    private Session open(SessionRoute route, Map<String, String> cookies, long now) throws StorageException {
        SessionConfig config = route.config();
        String cookie = cookies.get(config.cookieName());
        if (cookie == null || cookie.isEmpty()) {
            return null;
        }
        try {
            SessionCodec.Verified verified = route.codec().verifyHeader(cookie, !config.cookieStorage(), false,
                    route.timeouts(), now);
            SessionHeader header = verified.header();
            String payload;
            String storageKey = null;
            if (config.cookieStorage()) {
                if (revoked.isRevoked(B64.encodeToString(header.sid()))) {
                    LOG.debug("session cookie rejected: logged out");
                    return null;
                }
                payload = CookieChunker.join(config.cookieName(), cookie, header.dataSize(), cookies::get);
            } else {
                storageKey = storageKey(config, header.sid());
                byte[] stored = route.storage().get(storageKey).orElse(null);
                if (stored == null) {
                    LOG.debug("session cookie rejected: not in storage");
                    return null;
                }
                payload = storedPayload(stored);
                if (payload == null) {
                    LOG.debug("session cookie rejected: unreadable storage value");
                    return null;
                }
            }
            byte[] plaintext = route.codec().decrypt(verified, payload, KeyDerivation.HKDF);
            List<SessionEntry> entries = SessionEntry.decode(plaintext);
            return new Session(verified, cookie, storageKey, entries);
        } catch (SessionCodecException e) {
            LOG.debug("session cookie rejected: {}", e.reason());
            return null;
        } catch (SessionEntry.InvalidEntries e) {
            LOG.debug("session cookie rejected: {}", e.getMessage());
            return null;
        }
    }

    private static String storedPayload(byte[] stored) {
        // the value this engine writes, ["<base64url>"], needs no JSON parser; anything else does
        int n = stored.length;
        if (n >= 4 && stored[0] == '[' && stored[1] == '"' && stored[n - 2] == '"' && stored[n - 1] == ']') {
            boolean plain = true;
            for (int i = 2; i < n - 2 && plain; i++) {
                byte b = stored[i];
                plain = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_';
            }
            if (plain) {
                return new String(stored, 2, n - 4, StandardCharsets.US_ASCII);
            }
        }
        try {
            JsonNode node = JSON.readTree(stored);
            if (node != null && node.isArray() && !node.isEmpty() && node.get(0).isTextual()) {
                return node.get(0).asText();
            }
        } catch (IOException e) {
            // fall through: treated as no session
        }
        return null;
    }

    // ---------------------------------------------------------------- save, refresh, touch

    /** A new session id for {@code entry}, keeping the previous session's other audiences. */
    private Saved create(SessionRoute route, Session previous, SessionEntry entry, long now)
            throws StorageException, SessionCodecException {
        List<SessionEntry> entries = new ArrayList<>();
        if (previous != null) {
            for (SessionEntry e : previous.entries()) {
                if (!e.audience().equals(entry.audience())) {
                    entries.add(e);
                }
            }
        }
        entries.add(entry);
        Saved saved = save(route, previous, entries, now, now);
        if (previous != null && previous.storageKey() != null) {
            // the previous session may have belonged to someone else: do not leave it readable
            route.storage().delete(previous.storageKey());
        }
        return saved;
    }

    private Saved save(SessionRoute route, Session previous, List<SessionEntry> entries, long creationTime, long now)
            throws StorageException, SessionCodecException {
        SessionConfig config = route.config();
        byte[] sid = SessionCodec.newSessionId();
        int flags = config.cookieStorage() ? 0 : SessionHeader.FLAG_STORAGE;
        SessionCodec.Sealed sealed = route.codec().seal(sid, flags, creationTime, now - creationTime, 0,
                SessionEntry.encode(entries), KeyDerivation.HKDF);
        List<String> setCookies = new ArrayList<>();
        CookieAttributes attributes = route.cookieAttributes();
        String storageKey = null;
        String firstCookie;
        if (config.cookieStorage()) {
            List<CookieChunker.Chunk> chunks = CookieChunker.split(config.cookieName(), sealed.encodedHeader(),
                    sealed.payload());
            for (CookieChunker.Chunk chunk : chunks) {
                setCookies.add(SetCookieRenderer.render(chunk.name(), chunk.value(), attributes));
            }
            firstCookie = chunks.get(0).value();
            if (previous != null) {
                int before = CookieChunker.chunkCount(config.cookieName(), previous.header().dataSize());
                for (int i = chunks.size() + 1; i <= before; i++) {
                    setCookies.add(SetCookieRenderer.renderExpired(config.cookieName() + i, attributes));
                }
            }
        } else {
            storageKey = storageKey(config, sid);
            // lua-resty-session's stored value: ["<base64url ciphertext>"] (base64url needs no escaping)
            byte[] value = ("[\"" + sealed.payload() + "\"]").getBytes(StandardCharsets.US_ASCII);
            long ttl = storeTtl(config, creationTime, now);
            SessionStorage.Renewal renewal = previous != null && previous.storageKey() != null
                    ? new SessionStorage.Renewal(previous.storageKey(), Duration.ofSeconds(config.staleTtl())) : null;
            route.storage().set(storageKey, value, Duration.ofSeconds(ttl), renewal, null);
            firstCookie = sealed.encodedHeader();
            setCookies.add(SetCookieRenderer.render(config.cookieName(), firstCookie, attributes));
        }
        Session session = new Session(new SessionCodec.Verified(sealed.header(), 0), firstCookie, storageKey, entries);
        return new Saved(session, setCookies);
    }

    /** lua-resty-session's refresh: a new id past 75% of the rolling timeout, else a touch. */
    private List<String> refresh(SessionRoute route, Session session, long now) {
        SessionConfig config = route.config();
        SessionHeader header = session.header();
        long rollingElapsed = now - header.creationTime() - header.rollingOffset();
        if (config.rollingTimeout() > 0 && rollingElapsed > ceilThreeQuarters(config.rollingTimeout())) {
            try {
                return save(route, session, session.entries(), header.creationTime(), now).setCookies();
            } catch (StorageException e) {
                // the current session stays valid until its own timeouts: serve the request anyway
                LOG.warn("session storage {} failed to renew a session: {}", config.storage(), e.getMessage());
                return List.of();
            } catch (SessionCodecException e) {
                LOG.warn("session not renewed: {}", e.reason());
                return List.of();
            }
        }
        if (config.idlingTimeout() > 0 && rollingElapsed - header.idlingOffset() > config.touchThreshold()) {
            long idlingOffset = Math.min(rollingElapsed, MAX_IDLING_OFFSET);
            String touched = route.codec().touch(session.verified(), idlingOffset);
            String value = config.cookieStorage()
                    ? touched + session.firstCookie().substring(SessionHeader.ENCODED_SIZE) : touched;
            return List.of(SetCookieRenderer.render(config.cookieName(), value, route.cookieAttributes()));
        }
        return List.of();
    }

    private static long ceilThreeQuarters(long rollingTimeout) {
        return (rollingTimeout * 3 + 3) / 4;
    }

    private static long storeTtl(SessionConfig config, long creationTime, long now) {
        long ttl = config.rollingTimeout() == 0 ? MAX_TTL : Math.min(config.rollingTimeout(), MAX_TTL);
        if (config.absoluteTimeout() > 0) {
            ttl = Math.min(ttl, creationTime + config.absoluteTimeout() - now);
        }
        return Math.max(1, ttl);
    }

    // ---------------------------------------------------------------- logout

    private static boolean isLogout(SessionConfig config, RequestView request) throws GatewayException {
        String method = request.method().toUpperCase(Locale.ROOT);
        if (!config.logoutMethods().contains(method)) {
            return false;
        }
        if (!request.queryArgs(config.logoutQueryArg()).isEmpty()) {
            return true;
        }
        return config.readBodyForLogout() && BODY_METHODS.contains(method)
                && bodyHasArgument(request, config.logoutPostArg());
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

    private RequestDecision logout(SessionRoute route, Session session, long now) {
        SessionConfig config = route.config();
        List<HttpHeader> headers = new ArrayList<>();
        List<SessionEntry> remaining = new ArrayList<>();
        for (SessionEntry e : session.entries()) {
            if (!e.audience().equals(config.audience())) {
                remaining.add(e);
            }
        }
        try {
            if (!remaining.isEmpty()) {
                // other audiences stay logged in: save them under a new id, without this one
                Saved saved = save(route, session, remaining, session.header().creationTime(), now);
                addSetCookies(headers, saved.setCookies());
                if (session.storageKey() != null) {
                    route.storage().delete(session.storageKey());
                }
            } else {
                destroy(route, session, now, headers);
            }
        } catch (StorageException e) {
            return storageFailure(route, "delete", e);
        } catch (SessionCodecException e) {
            return tooLarge(e, List.of());
        }
        LOG.debug("session logged out");
        return new RequestDecision.Respond(200, headers, new byte[0]);
    }

    private void destroy(SessionRoute route, Session session, long now, List<HttpHeader> headers)
            throws StorageException, SessionCodecException {
        SessionConfig config = route.config();
        SessionHeader header = session.header();
        int chunks = 1;
        if (config.cookieStorage()) {
            revoked.revoke(B64.encodeToString(header.sid()), remainingLifetime(config, header, now));
            chunks = CookieChunker.chunkCount(config.cookieName(), header.dataSize());
        } else {
            route.storage().delete(session.storageKey());
        }
        headers.add(new HttpHeader("Set-Cookie", SetCookieRenderer.renderExpired(config.cookieName(),
                route.cookieAttributes())));
        for (int i = 2; i <= chunks; i++) {
            headers.add(new HttpHeader("Set-Cookie", SetCookieRenderer.renderExpired(config.cookieName() + i,
                    route.cookieAttributes())));
        }
    }

    /** How long the cookie could still be accepted, had it not been revoked. */
    private static long remainingLifetime(SessionConfig config, SessionHeader header, long now) {
        long remaining = MAX_TTL;
        if (config.absoluteTimeout() > 0) {
            remaining = Math.min(remaining, header.creationTime() + config.absoluteTimeout() - now);
        }
        if (config.rollingTimeout() > 0) {
            remaining = Math.min(remaining,
                    header.creationTime() + header.rollingOffset() + config.rollingTimeout() - now);
        }
        return remaining + 1;
    }

    // ---------------------------------------------------------------- headers

    private static void setIdentityHeaders(RequestView request, SessionEntry entry, List<HttpHeader> changes) {
        setOrRemove(request, CONSUMER_USERNAME, entry.subject(), changes);
        setOrRemove(request, CREDENTIAL_IDENTIFIER, entry.credential(), changes);
        setOrRemove(request, CONSUMER_GROUPS, joinGroups(entry), changes);
        setOrRemove(request, CONSUMER_CUSTOM_ID, null, changes);
    }

    private static String joinGroups(SessionEntry entry) {
        return entry.groups().isEmpty() ? null : String.join(",", entry.groups());
    }

    private static void removeIdentityHeaders(RequestView request, List<HttpHeader> changes) {
        for (String name : IDENTITY_HEADERS) {
            setOrRemove(request, name, null, changes);
        }
    }

    private static void setOrRemove(RequestView request, String name, String value, List<HttpHeader> changes) {
        if (value != null && !value.isEmpty()) {
            changes.add(new HttpHeader(name, value));
        } else if (!request.headers(name).isEmpty()) {
            changes.add(HttpHeader.remove(name));
        }
    }

    /** Kong's request_headers / response_headers: Session-Id, Session-Timeout, … */
    private static void addSessionHeaders(SessionConfig config, Set<String> wanted, Session session,
                                          SessionEntry entry, long now, List<HttpHeader> out) {
        if (wanted.isEmpty()) {
            return;
        }
        SessionHeader h = session.header();
        long idling = config.idlingTimeout() > 0
                ? config.idlingTimeout() - (now - h.creationTime() - h.rollingOffset() - h.idlingOffset()) : -1;
        long rolling = config.rollingTimeout() > 0
                ? config.rollingTimeout() - (now - h.creationTime() - h.rollingOffset()) : -1;
        long absolute = config.absoluteTimeout() > 0 ? config.absoluteTimeout() - (now - h.creationTime()) : -1;
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
                    for (long t : new long[] {idling, rolling, absolute}) {
                        if (t >= 0) {
                            min = Math.min(min, t);
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

    private static void addSetCookies(List<HttpHeader> out, List<String> setCookies) {
        for (String c : setCookies) {
            out.add(new HttpHeader("Set-Cookie", c));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static String storageKey(SessionConfig config, byte[] sid) {
        byte[] key = sid;
        if (config.hashStorageKey()) {
            try {
                key = MessageDigest.getInstance("SHA-256").digest(sid);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is missing from the JDK", e);
            }
        }
        // lua-resty-session namespaces keys by cookie name: <name>:<key>
        return config.cookieName() + ":" + B64.encodeToString(key);
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

    private static RequestDecision storageFailure(SessionRoute route, String operation, StorageException e) {
        SessionConfig config = route.config();
        LOG.warn("session storage {} failed to {}: {}", config.storage(), operation, e.getMessage());
        return jsonResponse(config.storageErrorStatus(), List.of(), "session storage unavailable");
    }

    /** A session over the cookie size limit is not saved; the request itself goes on. */
    private static RequestDecision tooLarge(SessionCodecException e, List<HttpHeader> requestChanges) {
        LOG.warn("session not saved: {}", e.reason());
        return new RequestDecision.Proceed(requestChanges, List.of());
    }

    static RequestDecision.Respond jsonResponse(int status, List<HttpHeader> extra, String message) {
        List<HttpHeader> headers = new ArrayList<>(extra);
        headers.add(new HttpHeader("Content-Type", "application/json"));
        byte[] body = JSON.createObjectNode().put("message", message).toString().getBytes(StandardCharsets.UTF_8);
        return new RequestDecision.Respond(status, headers, body);
    }

    @Override
    public void close() {
        storages.close();
    }

    /** An open session: its verified header, first cookie, storage key and entries. */
    private record Session(SessionCodec.Verified verified, String firstCookie, String storageKey,
                           List<SessionEntry> entries) {
        SessionHeader header() {
            return verified.header();
        }

        SessionEntry entry(String audience) {
            for (SessionEntry e : entries) {
                if (e.audience().equals(audience)) {
                    return e;
                }
            }
            return null;
        }
    }

    private record Saved(Session session, List<String> setCookies) {
    }
}
