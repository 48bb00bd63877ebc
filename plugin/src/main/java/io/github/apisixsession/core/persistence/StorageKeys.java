package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.storage.SessionMetadata;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The names a route's sessions are stored under, as lua-resty-session composes them: the key of a
 * session ({@code <cookie name>:<base64url sid or its sha256>}) and its metadata (base64url
 * audience, base64url subject or the first 16 bytes of its sha256).
 */
final class StorageKeys {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final SessionConfig config;

    StorageKeys(SessionConfig config) {
        this.config = config;
    }

    /** The cookie (or token) name of a kind: lua-resty-session namespaces keys by it. */
    String name(TokenKind kind) {
        return kind == TokenKind.SESSION ? config.tokenName() : config.remember().cookieName();
    }

    String storageKey(TokenKind kind, byte[] sid) {
        byte[] key = config.hashStorageKey() ? sha256(sid) : sid;
        return name(kind) + ":" + B64.encodeToString(key);
    }

    /** The metadata of a session with these entries, or null when the route records none. */
    SessionMetadata metadata(List<SessionEntry> entries) {
        if (!config.storeMetadata()) {
            return null;
        }
        List<SessionMetadata.Entry> out = new ArrayList<>();
        for (SessionEntry e : entries) {
            if (e.hasSubject()) {
                out.add(new SessionMetadata.Entry(encode(e.audience()), subjectKey(e.subject())));
            }
        }
        return out.isEmpty() ? null : new SessionMetadata(out);
    }

    /** The metadata of one entry's subject in its audience. */
    SessionMetadata metadataOf(SessionEntry entry) {
        return SessionMetadata.of(encode(entry.audience()), subjectKey(entry.subject()));
    }

    String audienceKey(SessionEntry entry) {
        return encode(entry.audience());
    }

    String audienceKey(String audience) {
        return encode(audience);
    }

    String subjectKey(String subject) {
        byte[] bytes = subject.getBytes(StandardCharsets.UTF_8);
        return B64.encodeToString(config.hashSubject() ? Arrays.copyOf(sha256(bytes), 16) : bytes);
    }

    private static String encode(String value) {
        return B64.encodeToString(value.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] sha256(byte[] in) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(in);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }
}
