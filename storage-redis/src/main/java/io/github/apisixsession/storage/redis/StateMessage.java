package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * The text forms of shared state in Redis: the changes published on the state channel
 * ({@code r:<until ms>:<id>}, {@code m:<issuedBefore ms>:<until ms>:<audience>:<subject or *>})
 * and the marker hash's fields and values. Strings are base64url (no padding), so colons,
 * newlines and any Unicode pass, and {@code *} (not in that alphabet) can stand for "no subject".
 */
final class StateMessage {

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
    private static final String EVERYONE = "*";

    private StateMessage() {
    }

    static String encode(String s) {
        return ENCODER.encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String decode(String s) {
        return new String(DECODER.decode(s), StandardCharsets.UTF_8);
    }

    static String revoked(Revocation r) {
        return "r:" + r.until().toEpochMilli() + ":" + encode(r.id());
    }

    static String markerField(String audience, String subject) {
        return encode(audience) + ":" + (subject == null ? EVERYONE : encode(subject));
    }

    static String marked(Marker m) {
        return "m:" + m.issuedBefore().toEpochMilli() + ":" + m.until().toEpochMilli() + ":"
                + markerField(m.audience(), m.subject());
    }

    /** A published change: a {@link Revocation} or a {@link Marker}; null when it is neither. */
    static Object parse(String message) {
        try {
            String[] p = message.split(":", -1);
            if (p.length == 3 && p[0].equals("r")) {
                return new Revocation(decode(p[2]), Instant.ofEpochMilli(Long.parseLong(p[1])));
            }
            if (p.length == 5 && p[0].equals("m")) {
                return marker(p[3], p[4], p[1], p[2]);
            }
        } catch (IllegalArgumentException e) {
            // not ours or garbled: the caller reports it
        }
        return null;
    }

    /** A marker from its hash field and value ({@code <issuedBefore ms>:<until ms>}); null when garbled. */
    static Marker marker(String field, String value) {
        try {
            String[] f = field.split(":", -1);
            String[] v = value.split(":", -1);
            return f.length == 2 && v.length == 2 ? marker(f[0], f[1], v[0], v[1]) : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Marker marker(String audience, String subject, String issuedBefore, String until) {
        return new Marker(decode(audience), subject.equals(EVERYONE) ? null : decode(subject),
                Instant.ofEpochMilli(Long.parseLong(issuedBefore)), Instant.ofEpochMilli(Long.parseLong(until)));
    }
}
