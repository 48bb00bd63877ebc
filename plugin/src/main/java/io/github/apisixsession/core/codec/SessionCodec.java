package io.github.apisixsession.core.codec;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals and opens session cookies in lua-resty-session 4's layout (docs/cookie-format.md):
 * AES-256-GCM with key and IV from HKDF-SHA256 over the ikm (sha256 of the secret) and the
 * session id, the header's first 47 bytes as AAD, and HMAC-SHA256 over the header, truncated to
 * 16 bytes. Immutable and thread-safe; built once per route config.
 */
public final class SessionCodec {

    /** Inflated plaintexts larger than this are rejected (zip bombs); seal refuses larger ones. */
    static final int MAX_PLAINTEXT_SIZE = 16 * 1024 * 1024;

    static final String ERR_MAC = "invalid session message authentication code";
    static final String ERR_DECRYPT = "unable to decrypt session data (cipher:final: EVP_CipherFinal_ex failed)";

    private static final int KEY_SIZE = SessionKeys.KEY_SIZE;
    private static final int IV_SIZE = SessionKeys.IV_SIZE;
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * One AES-GCM {@link Cipher} per thread, initialised afresh for every message: looking the
     * transformation up through the JCA providers ({@code Cipher.getInstance}) cost more than the
     * decryption of a small session itself.
     */
    private static final ThreadLocal<Cipher> GCM = ThreadLocal.withInitial(SessionCodec::newGcm);

    private final SessionKeys keys;
    private final int compressionThreshold;

    /**
     * @param ikms                 32-byte input keys, the primary first, then the fallbacks
     *                             ({@code secret_fallbacks}); ikm = sha256(secret)
     * @param compressionThreshold plaintexts longer than this many bytes are raw-deflated when that
     *                             makes them smaller; 0 disables compression
     */
    public SessionCodec(List<byte[]> ikms, int compressionThreshold) {
        if (ikms == null || ikms.isEmpty()) {
            throw new IllegalArgumentException("at least one ikm is required");
        }
        if (compressionThreshold < 0) {
            throw new IllegalArgumentException("compressionThreshold must be >= 0");
        }
        this.keys = new SessionKeys(ikms);
        this.compressionThreshold = compressionThreshold;
    }

    /** sha256(secret), as lua-resty-session derives the ikm. */
    public static byte[] ikmOf(String secret) {
        if (secret == null) {
            throw new IllegalArgumentException("secret is required");
        }
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
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
        return verifyHeader(cookieValue, storage, remember, timeouts, now, Binding.NONE);
    }

    /**
     * As {@link #verifyHeader(String, boolean, boolean, Timeouts, long)}, with the request facts a
     * bound cookie's MAC covers (which of them is decided by the cookie's BIND flags).
     */
    public Verified verifyHeader(String cookieValue, boolean storage, boolean remember, Timeouts timeouts, long now,
                                 Binding binding) throws SessionCodecException {
        if (cookieValue == null) {
            throw new SessionCodecException("missing session cookie");
        }
        if (timeouts == null) {
            throw new IllegalArgumentException("timeouts are required");
        }
        if (cookieValue.length() < SessionHeader.ENCODED_SIZE) {
            throw new SessionCodecException("invalid session header");
        }
        byte[] h;
        try {
            h = Base64Url.decode(cookieValue, 0, SessionHeader.ENCODED_SIZE);
        } catch (SessionCodecException e) {
            throw new SessionCodecException("unable to base64url decode session header (invalid input)");
        }
        if (h.length != SessionHeader.SIZE) {
            throw new SessionCodecException("invalid session header");
        }
        if (h[0] != SessionHeader.TYPE) {
            throw new SessionCodecException("invalid session cookie type");
        }
        int flags = (int) SessionHeader.getLe(h, 1, 2);
        if (storage != ((flags & SessionHeader.FLAG_STORAGE) != 0)) {
            throw new SessionCodecException("invalid session flags");
        }

        long creationTime = SessionHeader.getLe(h, SessionHeader.CREATION_OFFSET, 5);
        long absoluteElapsed = now - creationTime;
        if (absoluteElapsed > SessionHeader.MAX_ROLLING_OFFSET) {
            throw new SessionCodecException("session lifetime exceeded");
        }
        if (timeouts.absolute() != 0 && absoluteElapsed > timeouts.absolute()) {
            throw new SessionCodecException(remember
                    ? "session remember absolute timeout exceeded" : "session absolute timeout exceeded");
        }

        long rollingOffset = SessionHeader.getLe(h, SessionHeader.ROLLING_OFFSET, 4);
        long rollingElapsed = now - creationTime - rollingOffset;
        if (timeouts.rolling() != 0 && rollingElapsed > timeouts.rolling()) {
            throw new SessionCodecException(remember
                    ? "session remember rolling timeout exceeded" : "session rolling timeout exceeded");
        }

        int dataSize = (int) SessionHeader.getLe(h, SessionHeader.DATA_SIZE_OFFSET, 3);

        long idlingOffset = SessionHeader.getLe(h, SessionHeader.IDLING_OFFSET, 3);
        if (remember) {
            if (idlingOffset != 0) {
                throw new SessionCodecException("invalid session idling offset");
            }
        } else if (timeouts.idling() != 0 && rollingElapsed - idlingOffset > timeouts.idling()) {
            throw new SessionCodecException("session idling timeout exceeded");
        }

        byte[] sid = Arrays.copyOfRange(h, SessionHeader.SID_OFFSET, SessionHeader.SID_OFFSET + SessionHeader.SID_SIZE);
        byte[] mac = Arrays.copyOfRange(h, SessionHeader.MAC_OFFSET, SessionHeader.SIZE);
        int matched = -1;
        byte[] bindSuffix = binding.macSuffix(flags);
        for (int i = 0; i < keys.count() && matched < 0; i++) {
            byte[] expected = keys.mac(i, sid, h, SessionHeader.MAC_OFFSET, bindSuffix);
            if (MessageDigest.isEqual(mac, expected)) {
                matched = i;
            }
        }
        if (matched < 0) {
            throw new SessionCodecException(ERR_MAC);
        }
        byte[] tag = Arrays.copyOfRange(h, SessionHeader.TAG_OFFSET, SessionHeader.TAG_OFFSET + SessionHeader.TAG_SIZE);
        SessionHeader header = new SessionHeader(flags, sid, creationTime, rollingOffset, dataSize, tag,
                idlingOffset, mac);
        return new Verified(header, matched);
    }

    /**
     * Decrypts the base64url ciphertext of a verified header: checks its length equals
     * {@code dataSize}, decrypts with the key of the ikm that verified the header, and inflates
     * when the DEFLATE flag is set.
     *
     * @return the plaintext (JSON) bytes
     */
    public byte[] decrypt(Verified verified, String payload, KeyDerivation kdf) throws SessionCodecException {
        if (verified == null || kdf == null) {
            throw new IllegalArgumentException("verified and kdf are required");
        }
        SessionHeader header = verified.header();
        if (payload == null || payload.length() != header.dataSize()) {
            throw new SessionCodecException("invalid session payload");
        }
        byte[] ciphertext;
        try {
            ciphertext = Base64Url.decode(payload);
        } catch (SessionCodecException e) {
            throw new SessionCodecException("unable to base64url decode session data (invalid input)");
        }
        int ikmIndex = verified.ikmIndex();
        if (ikmIndex < 0 || ikmIndex >= keys.count()) {
            throw new SessionCodecException(ERR_MAC);
        }
        byte[] keyIv = keys.encryptionKeyAndIv(ikmIndex, header.sid(), kdf);
        byte[] aad = Arrays.copyOf(header.toBytes(), SessionHeader.AAD_SIZE);
        byte[] input = Arrays.copyOf(ciphertext, ciphertext.length + SessionHeader.TAG_SIZE);
        System.arraycopy(header.tag(), 0, input, ciphertext.length, SessionHeader.TAG_SIZE);
        byte[] plaintext;
        try {
            Cipher cipher = GCM.get();
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(keyIv, 0, KEY_SIZE, "AES"),
                    new GCMParameterSpec(SessionHeader.TAG_SIZE * 8, keyIv, KEY_SIZE, IV_SIZE));
            cipher.updateAAD(aad);
            plaintext = cipher.doFinal(input);
        } catch (AEADBadTagException e) {
            throw new SessionCodecException(ERR_DECRYPT);
        } catch (GeneralSecurityException e) {
            throw new SessionCodecException("unable to decrypt session data");
        }
        if (header.hasFlag(SessionHeader.FLAG_DEFLATE)) {
            plaintext = RawDeflate.inflate(plaintext, MAX_PLAINTEXT_SIZE);
        }
        return plaintext;
    }

    /**
     * Encrypts {@code plaintext} under {@code sid} with the primary ikm (deflating it when over the
     * compression threshold and smaller) and builds the MACed header.
     *
     * @param flags STORAGE and/or FORGET; DEFLATE is set by the codec itself
     * @throws IllegalArgumentException for a bad sid, out-of-range times, an empty plaintext, or
     *                                  one over 16 MiB ("session maximum data size exceeded")
     */
    public Sealed seal(byte[] sid, int flags, long creationTime, long rollingOffset, long idlingOffset,
                       byte[] plaintext, KeyDerivation kdf) {
        return seal(sid, flags, creationTime, rollingOffset, idlingOffset, plaintext, kdf, Binding.NONE);
    }

    /** As {@link #seal(byte[], int, long, long, long, byte[], KeyDerivation)}, bound by BIND flags. */
    public Sealed seal(byte[] sid, int flags, long creationTime, long rollingOffset, long idlingOffset,
                       byte[] plaintext, KeyDerivation kdf, Binding binding) {
        if (plaintext == null || plaintext.length == 0) {
            // an empty payload (data size 0) could never be read back from a cookie: lua's
            // sub(cookie, -0) is the whole cookie
            throw new IllegalArgumentException("plaintext is required");
        }
        if (plaintext.length > MAX_PLAINTEXT_SIZE) {
            throw new IllegalArgumentException("session maximum data size exceeded");
        }
        flags &= ~SessionHeader.FLAG_DEFLATE;
        byte[] body = plaintext;
        if (compressionThreshold != 0 && plaintext.length > compressionThreshold) {
            byte[] deflated = RawDeflate.deflate(plaintext);
            if (deflated.length < plaintext.length) {
                body = deflated;
                flags |= SessionHeader.FLAG_DEFLATE;
            }
        }
        return sealBody(0, sid, flags, creationTime, rollingOffset, idlingOffset, body, kdf, binding);
    }

    /** Encrypts {@code body} exactly as given (no compression decision) with ikm {@code ikmIndex}. */
    Sealed sealBody(int ikmIndex, byte[] sid, int flags, long creationTime, long rollingOffset, long idlingOffset,
                    byte[] body, KeyDerivation kdf) {
        return sealBody(ikmIndex, sid, flags, creationTime, rollingOffset, idlingOffset, body, kdf, Binding.NONE);
    }

    private Sealed sealBody(int ikmIndex, byte[] sid, int flags, long creationTime, long rollingOffset,
                            long idlingOffset, byte[] body, KeyDerivation kdf, Binding binding) {
        if (sid == null || sid.length != SessionHeader.SID_SIZE) {
            throw new IllegalArgumentException("the session id must be 32 bytes");
        }
        if (kdf == null) {
            throw new IllegalArgumentException("kdf is required");
        }
        if (flags < 0 || flags > 0xffff) {
            throw new IllegalArgumentException("invalid flags");
        }
        if (creationTime < 0 || creationTime > SessionHeader.MAX_CREATION_TIME) {
            throw new IllegalArgumentException("session maximum creation time exceeded");
        }
        if (rollingOffset < 0 || rollingOffset > SessionHeader.MAX_ROLLING_OFFSET) {
            throw new IllegalArgumentException("session maximum rolling offset exceeded");
        }
        if (idlingOffset < 0 || idlingOffset > SessionHeader.MAX_IDLING_OFFSET) {
            throw new IllegalArgumentException("invalid session idling offset");
        }
        long dataSize = Base64Url.encodedLength(body.length);
        if (dataSize > SessionHeader.MAX_DATA_SIZE) {
            throw new IllegalArgumentException("session maximum data size exceeded");
        }
        SessionHeader partial = new SessionHeader(flags, sid.clone(), creationTime, rollingOffset, (int) dataSize,
                null, idlingOffset, null);
        byte[] h = partial.toBytes();
        byte[] keyIv = keys.encryptionKeyAndIv(ikmIndex, sid, kdf);
        byte[] sealed;
        try {
            SecretKeySpec key = new SecretKeySpec(keyIv, 0, KEY_SIZE, "AES");
            GCMParameterSpec gcm = new GCMParameterSpec(SessionHeader.TAG_SIZE * 8, keyIv, KEY_SIZE, IV_SIZE);
            Cipher cipher = GCM.get();
            try {
                cipher.init(Cipher.ENCRYPT_MODE, key, gcm);
            } catch (InvalidAlgorithmParameterException e) {
                // the JDK refuses a key and IV just used for encryption on this Cipher: one session id
                // sealing a second plaintext would reuse the GCM nonce, which must never happen
                throw new IllegalStateException("session id sealed twice: GCM key and IV reuse refused", e);
            }
            cipher.updateAAD(h, 0, SessionHeader.AAD_SIZE);
            sealed = cipher.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("unable to encrypt session data", e);
        }
        int ctLen = sealed.length - SessionHeader.TAG_SIZE;
        System.arraycopy(sealed, ctLen, h, SessionHeader.TAG_OFFSET, SessionHeader.TAG_SIZE);
        byte[] mac = keys.mac(ikmIndex, sid, h, SessionHeader.MAC_OFFSET, binding.macSuffix(flags));
        System.arraycopy(mac, 0, h, SessionHeader.MAC_OFFSET, SessionHeader.MAC_SIZE);
        SessionHeader header = new SessionHeader(flags, sid.clone(), creationTime, rollingOffset, (int) dataSize,
                Arrays.copyOfRange(sealed, ctLen, sealed.length), idlingOffset, mac);
        return new Sealed(header, Base64Url.encode(h), Base64Url.encode(Arrays.copyOf(sealed, ctLen)));
    }

    /**
     * lua-resty-session's touch: the same header with a new idling offset, re-MACed with the ikm
     * that verified it (which may be a fallback). Like lua, an offset above the 3-byte maximum
     * is capped at {@link SessionHeader#MAX_IDLING_OFFSET}.
     *
     * @return the new header, base64url
     */
    public String touch(Verified verified, long idlingOffset) {
        return touch(verified, idlingOffset, Binding.NONE);
    }

    /** As {@link #touch(Verified, long)} for a bound cookie. */
    public String touch(Verified verified, long idlingOffset, Binding binding) {
        if (verified == null) {
            throw new IllegalArgumentException("verified is required");
        }
        if (idlingOffset < 0) {
            throw new IllegalArgumentException("invalid session idling offset");
        }
        int ikmIndex = verified.ikmIndex();
        if (ikmIndex < 0 || ikmIndex >= keys.count()) {
            throw new IllegalArgumentException("unknown ikm index");
        }
        SessionHeader old = verified.header();
        long offset = Math.min(idlingOffset, SessionHeader.MAX_IDLING_OFFSET);
        byte[] h = new SessionHeader(old.flags(), old.sid(), old.creationTime(), old.rollingOffset(),
                old.dataSize(), old.tag(), offset, null).toBytes();
        byte[] mac = keys.mac(ikmIndex, old.sid(), h, SessionHeader.MAC_OFFSET, binding.macSuffix(old.flags()));
        System.arraycopy(mac, 0, h, SessionHeader.MAC_OFFSET, SessionHeader.MAC_SIZE);
        return Base64Url.encode(h);
    }

    private static Cipher newGcm() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM/NoPadding is not available", e);
        }
    }

    /** A 32-byte random session id from a {@link java.security.SecureRandom}. */
    public static byte[] newSessionId() {
        byte[] sid = new byte[SessionHeader.SID_SIZE];
        RANDOM.nextBytes(sid);
        return sid;
    }

    // ---- key derivation (package-private so tests can compare against the vectors) ----

    /** The HKDF-SHA256 PRK of ikm {@code ikmIndex}. */
    byte[] prk(int ikmIndex) {
        return keys.prk(ikmIndex);
    }

    /** 44 bytes: the AES-256 key (0..31) and the GCM IV (32..43). */
    byte[] deriveEncryptionKeyAndIv(int ikmIndex, byte[] sid, KeyDerivation kdf) {
        return keys.encryptionKeyAndIv(ikmIndex, sid, kdf);
    }

    /** The 32-byte HMAC key; always HKDF, also for remember cookies. */
    byte[] deriveMacKey(int ikmIndex, byte[] sid) {
        return keys.macKey(ikmIndex, sid);
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
