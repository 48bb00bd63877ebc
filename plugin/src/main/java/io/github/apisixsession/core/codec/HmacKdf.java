package io.github.apisixsession.core.codec;

import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The key derivations lua-resty-session uses, on the JDK's HmacSHA256: HKDF-Expand (RFC 5869) and
 * PBKDF2 over a raw byte password (RFC 8018; the JDK's PBEKeySpec only takes chars, which would
 * not feed the 32 raw ikm bytes through unchanged).
 */
final class HmacKdf {

    private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    });

    private HmacKdf() {
    }

    /** This thread's HmacSHA256, initialised with {@code key}. */
    static Mac mac(SecretKeySpec key) {
        Mac mac = HMAC.get();
        try {
            mac.init(key);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        return mac;
    }

    static byte[] hmac(byte[] key, byte[] data) {
        return mac(new SecretKeySpec(key, "HmacSHA256")).doFinal(data);
    }

    /** HKDF-Expand (RFC 5869) with HMAC-SHA256. */
    static byte[] hkdfExpand(SecretKeySpec prk, byte[] info, int length) {
        return hkdfExpand(mac(prk), info, length);
    }

    /** A new HmacSHA256 initialised with {@code key}, for a caller that keeps it. */
    static Mac newMac(SecretKeySpec key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /**
     * HKDF-Expand with {@code prkMac}, an HmacSHA256 already initialised with the PRK. It ends
     * with {@code doFinal}, which leaves the Mac initialised with the same key for the next call.
     */
    static byte[] hkdfExpand(Mac prkMac, byte[] info, int length) {
        Mac mac = prkMac;
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        int pos = 0;
        for (int counter = 1; pos < length; counter++) {
            mac.update(t);
            mac.update(info);
            mac.update((byte) counter);
            t = mac.doFinal();
            int n = Math.min(t.length, length - pos);
            System.arraycopy(t, 0, out, pos, n);
            pos += n;
        }
        return out;
    }

    /** PBKDF2-HMAC-SHA256 (RFC 8018) over a raw byte password. */
    static byte[] pbkdf2(byte[] password, byte[] salt, int iterations, int length) {
        Mac mac = mac(new SecretKeySpec(password, "HmacSHA256"));
        byte[] out = new byte[length];
        int pos = 0;
        for (int block = 1; pos < length; block++) {
            mac.update(salt);
            mac.update(new byte[] {(byte) (block >>> 24), (byte) (block >>> 16), (byte) (block >>> 8), (byte) block});
            byte[] u = mac.doFinal();
            byte[] t = u.clone();
            for (int i = 1; i < iterations; i++) {
                u = mac.doFinal(u);
                for (int j = 0; j < t.length; j++) {
                    t[j] ^= u[j];
                }
            }
            int n = Math.min(t.length, length - pos);
            System.arraycopy(t, 0, out, pos, n);
            pos += n;
        }
        return out;
    }
}
