package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.codec.Binding;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.codec.SessionHeader;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageException;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Opens, seals, stores and destroys the sessions of one route: the lua-resty-session half of the
 * engine. It deals in token values (what a cookie or header carries), never in HTTP: the
 * {@link io.github.apisixsession.core.http.TokenTransport} decides how they travel.
 */
public final class SessionPersistence {

    private final SessionConfig config;
    private final SessionCodec codec;
    /** Null for cookie storage: the session travels in the token itself. */
    private final TimedStorage storage;
    private final StorageKeys keys;
    private final SessionCodec.Timeouts sessionTimeouts;
    private final SessionCodec.Timeouts rememberTimeouts;
    private final KeyDerivation rememberKdf;

    public SessionPersistence(SessionConfig config, SessionCodec codec, SessionStorage storage,
                              SessionMetrics metrics) {
        this.config = config;
        this.codec = codec;
        this.storage = storage == null ? null : new TimedStorage(storage, metrics);
        this.keys = new StorageKeys(config);
        SessionConfig.Timeouts t = config.timeouts();
        this.sessionTimeouts = new SessionCodec.Timeouts(t.idling(), t.rolling(), t.absolute());
        SessionConfig.Remember r = config.remember();
        this.rememberTimeouts = new SessionCodec.Timeouts(0, r.rollingTimeout(), r.absoluteTimeout());
        this.rememberKdf = r.pbkdf2Iterations() == 0 ? KeyDerivation.HKDF : KeyDerivation.pbkdf2(r.pbkdf2Iterations());
    }

    public SessionConfig config() {
        return config;
    }

    /** Whether sessions live in a storage (deletable) rather than only in the token. */
    public boolean serverSide() {
        return storage != null;
    }

    /** The BIND flags new sessions carry. */
    private int bindFlags() {
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
    public OpenSession open(TokenKind kind, String token, Function<String, String> chunks, Binding binding, long now)
            throws SessionCodecException, StorageException {
        boolean remember = kind == TokenKind.REMEMBER;
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
            storageKey = keys.storageKey(kind, header.sid());
            byte[] stored = storage.get(storageKey);
            if (stored == null) {
                return null;
            }
            payload = StoredValue.payloadOf(stored);
            if (payload == null) {
                throw new SessionCodecException("unable to json decode session");
            }
        } else if (usesCookies()) {
            if (CookieChunker.chunkCount(keys.name(kind), header.dataSize()) == 1
                    && token.length() != SessionHeader.ENCODED_SIZE + header.dataSize()) {
                // lua-resty-session reads the payload from the end and ignores what lies between;
                // we accept only the header followed by exactly the payload
                throw new SessionCodecException("invalid session payload");
            }
            payload = CookieChunker.join(keys.name(kind), token, header.dataSize(), chunks);
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

    // ---------------------------------------------------------------- save, touch, delete

    /**
     * Seals {@code entries} under a new session id.
     *
     * @param previous the session this one renews (its server-side entry becomes stale), or null
     * @return the saved session and the token chunks to send (one unless cookie-stored and large)
     */
    public SavedSession save(TokenKind kind, OpenSession previous, List<SessionEntry> entries, long creationTime,
                             long now, Binding binding) throws StorageException, SessionCodecException {
        boolean remember = kind == TokenKind.REMEMBER;
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
            storageKey = keys.storageKey(kind, sid);
            long ttl = storeTtl(kind, creationTime, now);
            SessionStorage.Renewal renewal = previous != null && previous.storageKey() != null
                    ? new SessionStorage.Renewal(previous.storageKey(),
                    Duration.ofSeconds(Math.min(config.timeouts().staleTtl(), ttl))) : null;
            storage.set(storageKey, StoredValue.of(sealed.payload()), Duration.ofSeconds(ttl), renewal,
                    keys.metadata(entries));
            chunks = List.of(new CookieChunker.Chunk(keys.name(kind), sealed.encodedHeader()));
        } else if (usesCookies()) {
            chunks = CookieChunker.split(keys.name(kind), sealed.encodedHeader(), sealed.payload());
        } else {
            chunks = List.of(new CookieChunker.Chunk(keys.name(kind), sealed.encodedHeader() + sealed.payload()));
        }
        OpenSession session = new OpenSession(kind, new SessionCodec.Verified(sealed.header(), 0),
                chunks.get(0).value(), storageKey, entries);
        return new SavedSession(session, chunks);
    }

    /** lua-resty-session's touch: the same id, a new idling offset, re-signed. */
    public String touch(OpenSession session, long now, Binding binding) {
        SessionHeader h = session.header();
        String header = codec.touch(session.verified(), now - h.creationTime() - h.rollingOffset(), binding);
        return serverSide() ? header : header + session.token().substring(SessionHeader.ENCODED_SIZE);
    }

    /** Removes a server-side entry (logout); nothing to do for cookie storage. */
    public void delete(OpenSession session) throws StorageException {
        if (session.storageKey() != null) {
            storage.delete(session.storageKey(), keys.metadata(session.entries()));
        }
    }

    // ---------------------------------------------------------------- sessions of a subject

    /**
     * Every stored session of the subject of {@code entry} in its audience (needs
     * {@code store_metadata}); the keys belong to the session cookie's namespace.
     */
    public Map<String, Instant> sessionsOf(SessionEntry entry) throws StorageException {
        return storage.sessionsOf(keys.audienceKey(entry), keys.subjectKey(entry.subject()));
    }

    /** Deletes every stored session of the subject of {@code entry} in its audience; returns how many. */
    public int deleteSessionsOf(SessionEntry entry) throws StorageException {
        int count = 0;
        for (String key : sessionsOf(entry).keySet()) {
            storage.delete(key, keys.metadataOf(entry));
            count++;
        }
        return count;
    }

    /** An audience as metadata names it: what "log out everywhere" markers name. */
    public String markerAudience(String audience) {
        return keys.audienceKey(audience);
    }

    /** A subject as metadata names it ({@code hash_subject} applied): what markers name. */
    public String markerSubject(String subject) {
        return keys.subjectKey(subject);
    }

    // ---------------------------------------------------------------- chunks and lifetimes

    /** How many cookies a session of this header occupies (for expiring the chunks). */
    public int chunkCount(OpenSession session) {
        if (serverSide() || (session.kind() == TokenKind.SESSION && !usesCookies())) {
            return 1;
        }
        try {
            return CookieChunker.chunkCount(keys.name(session.kind()), session.header().dataSize());
        } catch (SessionCodecException e) {
            return 1;
        }
    }

    /**
     * How many cookies the request's previous session token occupies (1 unless cookie-stored and
     * chunked), from its unverified header: for expiring the chunks a new session does not use.
     */
    public int chunkCountOf(String previousToken) {
        return chunkCountOf(TokenKind.SESSION, previousToken);
    }

    /** {@link #chunkCountOf(String)} for a token of either kind (the remember cookie is always a cookie). */
    public int chunkCountOf(TokenKind kind, String previousToken) {
        if (serverSide() || previousToken == null || previousToken.isEmpty()
                || (kind == TokenKind.SESSION && !usesCookies())) {
            return 1;
        }
        return CookieChunker.chunkCountOf(keys.name(kind), previousToken);
    }

    /** Seconds until the session (of this kind) ends by its rolling or absolute timeout. */
    public long remainingLifetime(TokenKind kind, SessionHeader header, long now) {
        long rolling = kind == TokenKind.SESSION ? config.timeouts().rolling() : config.remember().rollingTimeout();
        long absolute = kind == TokenKind.SESSION ? config.timeouts().absolute() : config.remember().absoluteTimeout();
        long remaining = SessionConfig.MAX_SECONDS;
        if (absolute > 0) {
            remaining = Math.min(remaining, header.creationTime() + absolute - now);
        }
        if (rolling > 0) {
            remaining = Math.min(remaining, header.creationTime() + header.rollingOffset() + rolling - now);
        }
        return Math.max(0, remaining);
    }

    private long storeTtl(TokenKind kind, long creationTime, long now) {
        long rolling = kind == TokenKind.SESSION ? config.timeouts().rolling() : config.remember().rollingTimeout();
        long absolute = kind == TokenKind.SESSION ? config.timeouts().absolute() : config.remember().absoluteTimeout();
        long ttl = rolling == 0 ? SessionConfig.MAX_SECONDS : Math.min(rolling, SessionConfig.MAX_SECONDS);
        if (absolute > 0) {
            ttl = Math.min(ttl, creationTime + absolute - now);
        }
        return Math.max(1, ttl);
    }

    private boolean usesCookies() {
        return config.lookup().source() == SessionConfig.TokenLookup.Source.COOKIE;
    }
}
