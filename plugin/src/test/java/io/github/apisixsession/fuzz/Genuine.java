package io.github.apisixsession.fuzz;

import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static io.github.apisixsession.hostile.HostileEngine.T0;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.hostile.HostileEngine;
import io.github.apisixsession.hostile.HostileRequest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The genuine sessions the fuzz targets try to forge, issued once per JVM by one engine (clock held
 * at {@link HostileEngine#T0}, reject_status 401): alice on a cookie-storage route, alice on a
 * memory-storage route, and a 6 kB cookie-stored session of alice split over several chunks.
 *
 * <p>Session ids are random, so a seed file cannot hold a genuine cookie literally. Seeds name them
 * with placeholders that {@link #expand} replaces: {@code {C}} the cookie-storage value,
 * {@code {M}} the memory-storage header, {@code {J}} the whole chunked jar
 * ({@code session=…; session2=…}), {@code {1}} … {@code {9}} the chunk values, {@code {H}} the
 * 110-character header of {@code {C}} and {@code {P}} its payload.
 */
final class Genuine {

    static final HostileEngine H = new HostileEngine();
    static final SessionRoute COOKIE;
    static final SessionRoute MEMORY;
    /** Cookie storage with remember cookies, audience r: no genuine session exists there. */
    static final SessionRoute REMEMBER;
    static final String COOKIE_VALUE;
    static final String MEMORY_VALUE;
    static final List<CookieChunker.Chunk> CHUNKS;
    static final String CHUNKED_PAYLOAD;

    static {
        try {
            COOKIE = H.route(SECRET, "\"audience\":\"a\"");
            MEMORY = H.route(SECRET, "\"audience\":\"a\",\"storage\":\"memory\"");
            REMEMBER = H.route(SECRET, "\"audience\":\"r\",\"remember\":true");
            COOKIE_VALUE = value(login(COOKIE));
            MEMORY_VALUE = value(login(MEMORY));
            SessionCodec.Sealed big = bigSession(COOKIE_VALUE);
            CHUNKED_PAYLOAD = big.payload();
            CHUNKS = CookieChunker.split("session", big.encodedHeader(), big.payload());
            if (CHUNKS.size() < 2 || MEMORY_VALUE.length() != 110) {
                throw new IllegalStateException("unexpected genuine sessions");
            }
            for (String header : List.of("session=" + COOKIE_VALUE, jar())) {
                if (!"alice".equals(HostileEngine.subject(H.engine.onRequest(COOKIE,
                        HostileRequest.get().cookie(header))))) {
                    throw new IllegalStateException("a genuine cookie does not open");
                }
            }
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Genuine() {
    }

    private static String login(SessionRoute route) throws Exception {
        RequestDecision d = H.engine.onRequest(route, HostileRequest.get().consumer("alice"));
        if (!"alice".equals(HostileEngine.subject(d))) {
            throw new IllegalStateException("login failed: " + d);
        }
        return HostileEngine.cookieHeader(d);
    }

    private static String value(String cookieHeader) {
        if (!cookieHeader.startsWith("session=")) {
            throw new IllegalStateException(cookieHeader);
        }
        return cookieHeader.substring("session=".length());
    }

    /** Re-seals alice's session with 4.5 kB of padding under the real secret: a genuine chunked cookie. */
    private static SessionCodec.Sealed bigSession(String small) throws Exception {
        SessionCodec codec = new SessionCodec(List.of(SessionCodec.ikmOf(SECRET)), 0);
        SessionCodec.Verified v = codec.verifyHeader(small, false, false, new SessionCodec.Timeouts(0, 0, 0), T0);
        String payload = CookieChunker.join("session", small, v.header().dataSize(), n -> null);
        ObjectMapper json = new ObjectMapper();
        ArrayNode plain = (ArrayNode) json.readTree(codec.decrypt(v, payload, KeyDerivation.HKDF));
        byte[] pad = new byte[4500];
        new Random(7).nextBytes(pad);
        ArrayNode first = (ArrayNode) plain.get(0);
        ObjectNode data = first.get(0) instanceof ObjectNode o ? o : first.objectNode();
        data.put("pad", Base64.getEncoder().encodeToString(pad));
        first.set(0, data);
        return codec.seal(SessionCodec.newSessionId(), 0, T0, 0, 0, json.writeValueAsBytes(plain), KeyDerivation.HKDF);
    }

    /** The chunked session as a browser sends it. */
    static String jar() {
        StringBuilder sb = new StringBuilder();
        for (CookieChunker.Chunk c : CHUNKS) {
            sb.append(sb.length() == 0 ? "" : "; ").append(c.name()).append('=').append(c.value());
        }
        return sb.toString();
    }

    /** Replaces the placeholders (see the class comment) with the genuine values. */
    static String expand(String s) {
        if (s.indexOf('{') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length() + 256);
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '{' && i + 2 < s.length() && s.charAt(i + 2) == '}') {
                String v = placeholder(s.charAt(i + 1));
                if (v != null) {
                    out.append(v);
                    i += 3;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static String placeholder(char p) {
        return switch (p) {
            case 'C' -> COOKIE_VALUE;
            case 'M' -> MEMORY_VALUE;
            case 'J' -> jar();
            case 'H' -> COOKIE_VALUE.substring(0, 110);
            case 'P' -> COOKIE_VALUE.substring(110);
            default -> p >= '1' && p <= '9' && p - '1' < CHUNKS.size() ? CHUNKS.get(p - '1').value() : null;
        };
    }

    /**
     * Whether the cookies a request carries (as the engine's own parser reads them: first name wins,
     * values trimmed and unquoted) are exactly a genuine cookie-storage session: the single-chunk
     * value, or every chunk of the chunked one under its own name (further {@code sessionN} are
     * ignored, as the header says how many chunks there are).
     */
    static boolean carriesGenuineCookieSession(Map<String, String> cookies) {
        String first = cookies.get("session");
        if (COOKIE_VALUE.equals(first)) {
            return true;
        }
        if (!CHUNKS.get(0).value().equals(first)) {
            return false;
        }
        for (CookieChunker.Chunk c : CHUNKS) {
            if (!c.value().equals(cookies.get(c.name()))) {
                return false;
            }
        }
        return true;
    }

    /** Whether the cookies carry exactly the genuine memory-storage header. */
    static boolean carriesGenuineMemorySession(Map<String, String> cookies) {
        return MEMORY_VALUE.equals(cookies.get("session"));
    }

    static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }
}
