package io.github.apisixsession.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Opens, seals, stores and destroys the sessions of one route: the lua-resty-session half of the
 * engine. It deals in token values (what a cookie or header carries), never in HTTP: the
 * {@link TokenTransport} decides how they travel.
 */
final class SessionPersistence {

    /** lua-resty-session caps TTLs at 400 days. */
    static final long MAX_TTL = SessionConfigParser.MAX_SECONDS;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    /** The session cookie, or the remember-me cookie that can restore it. */
    enum Kind { SESSION, REMEMBER }

    private final SessionConfig config;
    private final SessionCodec codec;
    private final SessionStorage storage;
    private final SessionMetrics metrics;
    private final SessionCodec.Timeouts sessionTimeouts;
    private final SessionCodec.Timeouts rememberTimeouts;
    private final KeyDerivation rememberKdf;

    SessionPersistence(SessionConfig config, SessionCodec codec, SessionStorage storage, SessionMetrics metrics) {
        this.config = config;
        this.codec = codec;
        this.storage = storage;
        this.metrics = metrics;
        SessionConfig.Timeouts t = config.timeouts();
        this.sessionTimeouts = new SessionCodec.Timeouts(t.idling(), t.rolling(), t.absolute());
        SessionConfig.Remember r = config.remember();
        this.rememberTimeouts = new SessionCodec.Timeouts(0, r.rollingTimeout(), r.absoluteTimeout());
        this.rememberKdf = r.pbkdf2Iterations() == 0 ? KeyDerivation.HKDF : KeyDerivation.pbkdf2(r.pbkdf2Iterations());
    }

    SessionConfig config() {
        return config;
    }

    boolean serverSide() {
        return storage != null;
    }

    String name(Kind kind) {
        return kind == Kind.SESSION ? config.tokenName() : config.remember().cookieName();
    }

    /** The BIND flags new sessions carry. */
    int bindFlags() {
        int flags = 0;
        for (SessionConfig.Bind b : config.bind()) {
            flags |= b.flag();
        }
        return flags;
    }

    // ---------------------------------------------------------------- open

    /**
     * Verifies and decrypts a token.
     *
     * @param chunks the request's cookies by name, for chunks 2…9 of a cookie-stored session
     * @return the session, or null when storage has no entry for it
     */
    OpenSession open(Kind kind, String token, Function<String, String> chunks, Binding binding, long now)
            throws SessionCodecException, StorageException {
        boolean remember = kind == Kind.REMEMBER;
        SessionCodec.Verified verified = codec.verifyHeader(token, serverSide(), remember,
                remember ? rememberTimeouts : sessionTimeouts, now, binding);
        SessionHeader header = verified.header();
        if ((header.flags() & bindFlags()) != bindFlags()) {
            // a route that binds sessions accepts no unbound cookie
            throw new SessionCodecException("invalid session flags");
        }
        String payload;
        String storageKey = null;
        if (serverSide()) {
            if (token.length() != SessionHeader.ENCODED_SIZE) {
                // lua-resty-session ignores anything after the header; we accept only the header
                throw new SessionCodecException("invalid session header");
            }
            storageKey = storageKey(kind, header.sid());
            byte[] stored = timedGet(storageKey);
            if (stored == null) {
                return null;
            }
            payload = storedPayload(stored);
            if (payload == null) {
                throw new SessionCodecException("unable to json decode session");
            }
        } else if (config.lookup().source() == SessionConfig.TokenLookup.Source.COOKIE) {
            if (CookieChunker.chunkCount(name(kind), header.dataSize()) == 1
                    && token.length() != SessionHeader.ENCODED_SIZE + header.dataSize()) {
                // lua-resty-session reads the payload from the end and ignores what lies between;
                // we accept only the header followed by exactly the payload
                throw new SessionCodecException("invalid session payload");
            }
            payload = CookieChunker.join(name(kind), token, header.dataSize(), chunks);
        } else {
            // headers and query arguments carry exactly the header and the payload
            int size = header.dataSize();
            if (token.length() != SessionHeader.ENCODED_SIZE + size) {
                throw new SessionCodecException("invalid session payload");
            }
            payload = token.substring(token.length() - size);
        }
        byte[] plaintext = codec.decrypt(verified, payload, remember ? rememberKdf : KeyDerivation.HKDF);
        List<SessionEntry> entries;
        try {
            entries = SessionEntry.decode(plaintext);
        } catch (SessionEntry.InvalidEntries e) {
            throw new SessionCodecException(e.getMessage());
        }
        return new OpenSession(kind, verified, token, storageKey, entries);
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
            // not lua-resty-session's value: treated as no session
        }
        return null;
    }

    // ---------------------------------------------------------------- save

    /**
     * Seals {@code entries} under a new session id.
     *
     * @param previous the session this one renews (its server-side entry becomes stale), or null
     * @return the saved session and the token chunks to send (one unless cookie-stored and large)
     */
    Saved save(Kind kind, OpenSession previous, List<SessionEntry> entries, long creationTime, long now,
               Binding binding) throws StorageException, SessionCodecException {
        boolean remember = kind == Kind.REMEMBER;
        byte[] sid = SessionCodec.newSessionId();
        int flags = (serverSide() ? SessionHeader.FLAG_STORAGE : 0) | bindFlags();
        SessionCodec.Sealed sealed;
        try {
            sealed = codec.seal(sid, flags, creationTime, now - creationTime, 0, SessionEntry.encode(entries),
                    remember ? rememberKdf : KeyDerivation.HKDF, binding);
        } catch (IllegalArgumentException e) {
            throw new SessionCodecException(e.getMessage());
        }
        List<CookieChunker.Chunk> chunks;
        String storageKey = null;
        if (serverSide()) {
            storageKey = storageKey(kind, sid);
            // lua-resty-session's stored value: ["<base64url ciphertext>"] (base64url needs no escaping)
            byte[] value = ("[\"" + sealed.payload() + "\"]").getBytes(StandardCharsets.US_ASCII);
            long ttl = storeTtl(kind, creationTime, now);
            SessionStorage.Renewal renewal = previous != null && previous.storageKey() != null
                    ? new SessionStorage.Renewal(previous.storageKey(),
                    Duration.ofSeconds(Math.min(config.timeouts().staleTtl(), ttl))) : null;
            timedSet(storageKey, value, Duration.ofSeconds(ttl), renewal, metadata(entries));
            chunks = List.of(new CookieChunker.Chunk(name(kind), sealed.encodedHeader()));
        } else if (config.lookup().source() == SessionConfig.TokenLookup.Source.COOKIE) {
            chunks = CookieChunker.split(name(kind), sealed.encodedHeader(), sealed.payload());
        } else {
            chunks = List.of(new CookieChunker.Chunk(name(kind), sealed.encodedHeader() + sealed.payload()));
        }
        OpenSession session = new OpenSession(kind, new SessionCodec.Verified(sealed.header(), 0),
                chunks.get(0).value(), storageKey, entries);
        return new Saved(session, chunks);
    }

    /** lua-resty-session's touch: the same id, a new idling offset, re-signed. */
    String touch(OpenSession session, long now, Binding binding) {
        SessionHeader h = session.header();
        String header = codec.touch(session.verified(), now - h.creationTime() - h.rollingOffset(), binding);
        return serverSide() ? header : header + session.token().substring(SessionHeader.ENCODED_SIZE);
    }

    /** Removes a server-side entry (logout); nothing to do for cookie storage. */
    void delete(OpenSession session) throws StorageException {
        if (session.storageKey() != null) {
            timedDelete(session.storageKey(), metadata(session.entries()));
        }
    }

    /**
     * Every stored session of the subject of {@code entry} in its audience (needs
     * {@code store_metadata}); the keys belong to the session cookie's namespace.
     */
    Map<String, Instant> sessionsOf(SessionEntry entry) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            Map<String, Instant> found = storage.sessionsOf(encodeMetadata(entry.audience()), subjectKey(entry.subject()));
            failed = false;
            return found;
        } finally {
            metrics.storageLatency("list", System.nanoTime() - start, failed);
        }
    }

    void deleteKey(String key, SessionEntry entry) throws StorageException {
        timedDelete(key, SessionMetadata.of(encodeMetadata(entry.audience()), subjectKey(entry.subject())));
    }

    /** How many cookies a session of this header occupies (for expiring the chunks). */
    int chunkCount(OpenSession session) {
        if (serverSide() || (session.kind() == Kind.SESSION
                && config.lookup().source() != SessionConfig.TokenLookup.Source.COOKIE)) {
            return 1;
        }
        try {
            return CookieChunker.chunkCount(name(session.kind()), session.header().dataSize());
        } catch (SessionCodecException e) {
            return 1;
        }
    }

    /**
     * How many cookies the request's previous session token occupies (1 unless cookie-stored and
     * chunked), from its unverified header: for expiring the chunks a new session does not use.
     */
    int chunkCountOf(String previousToken) {
        return chunkCountOf(Kind.SESSION, previousToken);
    }

    /** {@link #chunkCountOf(String)} for a token of either kind (the remember cookie is always a cookie). */
    int chunkCountOf(Kind kind, String previousToken) {
        if (serverSide() || previousToken == null || previousToken.isEmpty()
                || (kind == Kind.SESSION && config.lookup().source() != SessionConfig.TokenLookup.Source.COOKIE)) {
            return 1;
        }
        return CookieChunker.chunkCountOf(name(kind), previousToken);
    }

    /** Seconds until the session (of this kind) ends by its rolling or absolute timeout. */
    long remainingLifetime(Kind kind, SessionHeader header, long now) {
        long rolling = kind == Kind.SESSION ? config.timeouts().rolling() : config.remember().rollingTimeout();
        long absolute = kind == Kind.SESSION ? config.timeouts().absolute() : config.remember().absoluteTimeout();
        long remaining = MAX_TTL;
        if (absolute > 0) {
            remaining = Math.min(remaining, header.creationTime() + absolute - now);
        }
        if (rolling > 0) {
            remaining = Math.min(remaining, header.creationTime() + header.rollingOffset() + rolling - now);
        }
        return Math.max(0, remaining);
    }

    private long storeTtl(Kind kind, long creationTime, long now) {
        long rolling = kind == Kind.SESSION ? config.timeouts().rolling() : config.remember().rollingTimeout();
        long absolute = kind == Kind.SESSION ? config.timeouts().absolute() : config.remember().absoluteTimeout();
        long ttl = rolling == 0 ? MAX_TTL : Math.min(rolling, MAX_TTL);
        if (absolute > 0) {
            ttl = Math.min(ttl, creationTime + absolute - now);
        }
        return Math.max(1, ttl);
    }

    // ---------------------------------------------------------------- keys and metadata

    private String storageKey(Kind kind, byte[] sid) {
        byte[] key = config.hashStorageKey() ? sha256(sid) : sid;
        // lua-resty-session namespaces keys by cookie name: <name>:<key>
        return name(kind) + ":" + B64.encodeToString(key);
    }

    /** lua-resty-session's metadata: base64url audience, base64url (optionally hashed) subject. */
    private SessionMetadata metadata(List<SessionEntry> entries) {
        if (!config.storeMetadata()) {
            return null;
        }
        List<SessionMetadata.Entry> out = new ArrayList<>();
        for (SessionEntry e : entries) {
            if (e.hasSubject()) {
                out.add(new SessionMetadata.Entry(encodeMetadata(e.audience()), subjectKey(e.subject())));
            }
        }
        return out.isEmpty() ? null : new SessionMetadata(out);
    }

    private String subjectKey(String subject) {
        byte[] bytes = subject.getBytes(StandardCharsets.UTF_8);
        return B64.encodeToString(config.hashSubject() ? Arrays.copyOf(sha256(bytes), 16) : bytes);
    }

    private static String encodeMetadata(String value) {
        return B64.encodeToString(value.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] sha256(byte[] in) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(in);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    // ---------------------------------------------------------------- timed storage calls

    private byte[] timedGet(String key) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            byte[] value = storage.get(key).orElse(null);
            failed = false;
            return value;
        } finally {
            metrics.storageLatency("get", System.nanoTime() - start, failed);
        }
    }

    private void timedSet(String key, byte[] value, Duration ttl, SessionStorage.Renewal renewal,
                          SessionMetadata metadata) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            storage.set(key, value, ttl, renewal, metadata);
            failed = false;
        } finally {
            metrics.storageLatency("set", System.nanoTime() - start, failed);
        }
    }

    private void timedDelete(String key, SessionMetadata metadata) throws StorageException {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            storage.delete(key, metadata);
            failed = false;
        } finally {
            metrics.storageLatency("delete", System.nanoTime() - start, failed);
        }
    }

    /** A session that opened (or was just saved): header, token, storage key and entries. */
    record OpenSession(Kind kind, SessionCodec.Verified verified, String token, String storageKey,
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

        String sessionId() {
            return B64.encodeToString(header().sid());
        }
    }

    /** A saved session and the token chunks (name, value) to send to the client. */
    record Saved(OpenSession session, List<CookieChunker.Chunk> chunks) {
    }
}
