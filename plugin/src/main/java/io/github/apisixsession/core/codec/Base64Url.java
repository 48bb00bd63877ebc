package io.github.apisixsession.core.codec;

import java.util.Base64;

/**
 * Base64url without padding, as lua-resty-session writes it. Decoding is strict: only the
 * url-safe alphabet, no padding, no whitespace, a length that is not 1 mod 4 and zero unused
 * trailing bits (so every byte string has exactly one accepted encoding).
 */
public final class Base64Url {

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final byte[] DECODE = new byte[128];

    static {
        java.util.Arrays.fill(DECODE, (byte) -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (int i = 0; i < alphabet.length(); i++) {
            DECODE[alphabet.charAt(i)] = (byte) i;
        }
    }

    private Base64Url() {
    }

    public static String encode(byte[] data) {
        return ENCODER.encodeToString(data);
    }

    /** The unpadded base64url length of {@code size} bytes: ceil(4 * size / 3). */
    public static long encodedLength(long size) {
        return (4 * size + 2) / 3;
    }

    /**
     * Decodes {@code s} strictly.
     *
     * @throws SessionCodecException "invalid input" when {@code s} is null or malformed
     */
    public static byte[] decode(CharSequence s) throws SessionCodecException {
        return decode(s, 0, s == null ? 0 : s.length());
    }

    /** Decodes {@code s[from, to)} strictly; see {@link #decode(CharSequence)}. */
    public static byte[] decode(CharSequence s, int from, int to) throws SessionCodecException {
        if (s == null || from < 0 || to > s.length() || from > to) {
            throw new SessionCodecException("invalid input");
        }
        int len = to - from;
        int rem = len & 3;
        if (rem == 1) {
            throw new SessionCodecException("invalid input");
        }
        byte[] out = new byte[(len / 4) * 3 + (rem == 0 ? 0 : rem - 1)];
        int o = 0;
        int i = from;
        int fullEnd = from + (len - rem);
        while (i < fullEnd) {
            int v = (sextet(s.charAt(i)) << 18) | (sextet(s.charAt(i + 1)) << 12)
                    | (sextet(s.charAt(i + 2)) << 6) | sextet(s.charAt(i + 3));
            out[o++] = (byte) (v >> 16);
            out[o++] = (byte) (v >> 8);
            out[o++] = (byte) v;
            i += 4;
        }
        if (rem == 2) {
            int a = sextet(s.charAt(i));
            int b = sextet(s.charAt(i + 1));
            if ((b & 0x0f) != 0) {
                throw new SessionCodecException("invalid input");
            }
            out[o] = (byte) ((a << 2) | (b >> 4));
        } else if (rem == 3) {
            int a = sextet(s.charAt(i));
            int b = sextet(s.charAt(i + 1));
            int c = sextet(s.charAt(i + 2));
            if ((c & 0x03) != 0) {
                throw new SessionCodecException("invalid input");
            }
            out[o++] = (byte) ((a << 2) | (b >> 4));
            out[o] = (byte) ((b << 4) | (c >> 2));
        }
        return out;
    }

    private static int sextet(char c) throws SessionCodecException {
        int v = c < 128 ? DECODE[c] : -1;
        if (v < 0) {
            throw new SessionCodecException("invalid input");
        }
        return v;
    }
}
