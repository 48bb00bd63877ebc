package io.github.apisixsession.core.codec;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys of one route's codec, as lua-resty-session derives them: per ikm (the primary secret,
 * then each fallback) its HKDF-SHA256 PRK; per session id, the AES-256 key and GCM IV (HKDF, or
 * PBKDF2 for remember cookies) and the HMAC key (always HKDF).
 */
final class SessionKeys {

    static final int KEY_SIZE = 32;
    static final int IV_SIZE = 12;
    private static final byte[] ENCRYPTION = "encryption:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] AUTHENTICATION = "authentication:".getBytes(StandardCharsets.US_ASCII);

    private final byte[][] ikms;
    private final SecretKeySpec[] prks;
    /**
     * Per thread, one HmacSHA256 per PRK, keyed once: every cookie derives its keys from the same
     * PRKs, and re-keying a Mac (pads, digest reset) was a tenth of opening a cookie.
     */
    private final ThreadLocal<Mac[]> prkMacs = ThreadLocal.withInitial(this::keyedPrkMacs);

    /** @param ikms at least one; each must be 32 bytes */
    SessionKeys(List<byte[]> ikms) {
        this.ikms = new byte[ikms.size()][];
        this.prks = new SecretKeySpec[ikms.size()];
        for (int i = 0; i < ikms.size(); i++) {
            byte[] ikm = ikms.get(i);
            if (ikm == null || ikm.length != KEY_SIZE) {
                throw new IllegalArgumentException("invalid ikm size");
            }
            this.ikms[i] = ikm.clone();
            // HKDF-Extract (RFC 5869) with an empty salt, i.e. HashLen zero bytes
            this.prks[i] = new SecretKeySpec(HmacKdf.hmac(new byte[KEY_SIZE], ikm), "HmacSHA256");
        }
    }

    private Mac[] keyedPrkMacs() {
        Mac[] macs = new Mac[prks.length];
        for (int i = 0; i < macs.length; i++) {
            macs[i] = HmacKdf.newMac(prks[i]);
        }
        return macs;
    }

    /** The number of ikms (primary plus fallbacks). */
    int count() {
        return ikms.length;
    }

    /** The HKDF-SHA256 PRK of ikm {@code ikmIndex}. */
    byte[] prk(int ikmIndex) {
        return prks[ikmIndex].getEncoded();
    }

    /** 44 bytes: the AES-256 key (0..31) and the GCM IV (32..43). */
    byte[] encryptionKeyAndIv(int ikmIndex, byte[] sid, KeyDerivation kdf) {
        byte[] info = concat(ENCRYPTION, sid);
        if (kdf.isHkdf()) {
            return HmacKdf.hkdfExpand(prkMacs.get()[ikmIndex], info, KEY_SIZE + IV_SIZE);
        }
        return HmacKdf.pbkdf2(ikms[ikmIndex], info, kdf.pbkdf2Iterations(), KEY_SIZE + IV_SIZE);
    }

    /** The 32-byte HMAC key; always HKDF, also for remember cookies. */
    byte[] macKey(int ikmIndex, byte[] sid) {
        return HmacKdf.hkdfExpand(prkMacs.get()[ikmIndex], concat(AUTHENTICATION, sid), KEY_SIZE);
    }

    /** The header's truncated MAC: HMAC-SHA256 over {@code msg[0..len)} and the bound facts. */
    byte[] mac(int ikmIndex, byte[] sid, byte[] msg, int len, byte[] bindSuffix) {
        Mac mac = HmacKdf.mac(new SecretKeySpec(macKey(ikmIndex, sid), "HmacSHA256"));
        mac.update(msg, 0, len);
        if (bindSuffix != null) {
            mac.update(bindSuffix);
        }
        return Arrays.copyOf(mac.doFinal(), SessionHeader.MAC_SIZE);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
