package io.github.apisixsession.core.codec;

import java.util.List;

/**
 * Seals and opens session cookies in lua-resty-session 4's layout (docs/cookie-format.md):
 * AES-256-GCM with key and IV from HKDF-SHA256 over the ikm (sha256 of the secret) and the
 * session id, the header's first 47 bytes as AAD, and HMAC-SHA256 over the header, truncated to
 * 16 bytes. Immutable and thread-safe; built once per route config.
 */
public final class SessionCodec {

    /**
     * @param ikms                 32-byte input keys, the primary first, then the fallbacks
     *                             ({@code secret_fallbacks}); ikm = sha256(secret)
     * @param compressionThreshold plaintexts longer than this many bytes are raw-deflated when that
     *                             makes them smaller; 0 disables compression
     */
    public SessionCodec(List<byte[]> ikms, int compressionThreshold) {
        throw new UnsupportedOperationException("TODO");
    }

    /** sha256(secret), as lua-resty-session derives the ikm. */
    public static byte[] ikmOf(String secret) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Decodes and checks the header at the start of {@code cookieValue}, in lua-resty-session's
     * order: size, type, flags against {@code storage}, creation time and absolute timeout,
     * rolling offset and rolling timeout, data size, idling offset and idling timeout (a remember
     * cookie must have idling offset 0), then the MAC against each ikm in turn.
     *
     * @param timeouts the timeouts to apply (the remember ones for a remember cookie)
     * @param now      epoch seconds
     */
    public Verified verifyHeader(String cookieValue, boolean storage, boolean remember, Timeouts timeouts, long now)
            throws SessionCodecException {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Decrypts the base64url ciphertext of a verified header: checks its length equals
     * {@code dataSize}, decrypts with the key of the ikm that verified the header, and inflates
     * when the DEFLATE flag is set.
     *
     * @return the plaintext (JSON) bytes
     */
    public byte[] decrypt(Verified verified, String payload, KeyDerivation kdf) throws SessionCodecException {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Encrypts {@code plaintext} under {@code sid} with the primary ikm (deflating it when over the
     * compression threshold and smaller) and builds the MACed header.
     *
     * @param flags STORAGE and/or FORGET; DEFLATE is set by the codec itself
     */
    public Sealed seal(byte[] sid, int flags, long creationTime, long rollingOffset, long idlingOffset,
                       byte[] plaintext, KeyDerivation kdf) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * lua-resty-session's touch: the same header with a new idling offset, re-MACed with the ikm
     * that verified it (which may be a fallback).
     *
     * @return the new header, base64url
     */
    public String touch(Verified verified, long idlingOffset) {
        throw new UnsupportedOperationException("TODO");
    }

    /** A 32-byte random session id from a {@link java.security.SecureRandom}. */
    public static byte[] newSessionId() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Timeouts in seconds; 0 disables each. */
    public record Timeouts(long idling, long rolling, long absolute) {
    }

    /**
     * A header that passed every check.
     *
     * @param ikmIndex 0 for the primary secret, i for {@code secret_fallbacks[i-1]}
     */
    public record Verified(SessionHeader header, int ikmIndex) {
    }

    /** A sealed session: the header and the ciphertext, each base64url without padding. */
    public record Sealed(SessionHeader header, String encodedHeader, String payload) {
    }
}
