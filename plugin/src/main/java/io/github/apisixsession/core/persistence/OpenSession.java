package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionHeader;

import java.util.Base64;
import java.util.List;

/**
 * A session that opened (or was just saved): its verified header, the token that carried it, its
 * storage key (null for cookie storage) and its entries, one per audience.
 */
public record OpenSession(TokenKind kind, SessionCodec.Verified verified, String token, String storageKey,
                          List<SessionEntry> entries) {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    public SessionHeader header() {
        return verified.header();
    }

    /** The entry of {@code audience}, or null when the session has none. */
    public SessionEntry entry(String audience) {
        for (SessionEntry e : entries) {
            if (e.audience().equals(audience)) {
                return e;
            }
        }
        return null;
    }

    /** The session id, base64url: what revocations are kept under. */
    public String sessionId() {
        return B64.encodeToString(header().sid());
    }
}
