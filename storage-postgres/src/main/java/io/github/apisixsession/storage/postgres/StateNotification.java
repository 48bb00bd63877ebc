package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The payload of a shared-state NOTIFY. Times are epoch milliseconds; the text that may hold
 * anything comes last, so it needs no escaping:
 * <ul>
 *   <li>{@code r <until> <id>}: a revocation;</li>
 *   <li>{@code a <issuedBefore> <until> <audience>}: an audience-wide marker;</li>
 *   <li>{@code s <issuedBefore> <until> <audience length in chars> <audience><subject>}: a subject's marker;</li>
 *   <li>{@value #RELOAD}: something changed that does not fit PostgreSQL's 8000-byte payload.</li>
 * </ul>
 */
final class StateNotification {

    static final String RELOAD = "reload";
    /** Below PostgreSQL's limit of 8000 bytes, channel name aside. */
    static final int MAX_PAYLOAD_BYTES = 7900;

    private StateNotification() {
    }

    static String of(Revocation r) {
        return fitted("r " + r.until().toEpochMilli() + " " + r.id());
    }

    static String of(Marker m) {
        String times = m.issuedBefore().toEpochMilli() + " " + m.until().toEpochMilli() + " ";
        return fitted(m.subject() == null
                ? "a " + times + m.audience()
                : "s " + times + m.audience().length() + " " + m.audience() + m.subject());
    }

    private static String fitted(String payload) {
        return payload.getBytes(StandardCharsets.UTF_8).length <= MAX_PAYLOAD_BYTES ? payload : RELOAD;
    }

    /** A {@link Revocation}, a {@link Marker}, {@link #RELOAD}, or null when unreadable. */
    static Object parse(String payload) {
        if (RELOAD.equals(payload)) {
            return RELOAD;
        }
        try {
            String[] head = payload.split(" ", 4);
            if (head[0].equals("r") && head.length >= 3) {
                String[] r = payload.split(" ", 3);
                return new Revocation(r[2], Instant.ofEpochMilli(Long.parseLong(r[1])));
            }
            if (head.length < 4) {
                return null;
            }
            Instant issuedBefore = Instant.ofEpochMilli(Long.parseLong(head[1]));
            Instant until = Instant.ofEpochMilli(Long.parseLong(head[2]));
            if (head[0].equals("a")) {
                return new Marker(head[3], null, issuedBefore, until);
            }
            if (head[0].equals("s")) {
                int space = head[3].indexOf(' ');
                int audienceLength = Integer.parseInt(head[3].substring(0, space));
                String rest = head[3].substring(space + 1);
                return new Marker(rest.substring(0, audienceLength), rest.substring(audienceLength), issuedBefore, until);
            }
        } catch (RuntimeException e) {
            // garbled: the caller reloads
        }
        return null;
    }
}
