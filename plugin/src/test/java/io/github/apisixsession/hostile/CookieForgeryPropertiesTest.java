package io.github.apisixsession.hostile;

import static io.github.apisixsession.hostile.HostileEngine.OTHER_SECRET;
import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static io.github.apisixsession.hostile.HostileEngine.T0;
import static io.github.apisixsession.hostile.HostileEngine.refused;
import static io.github.apisixsession.hostile.HostileEngine.subject;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.hostile.HostileRun.Outcome;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import io.github.apisixsession.hostile.HostileRun.Gen;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Forged cookies against the engine (fixed clock, reject_status 401): random strings, mutations of
 * real cookies (truncation, bit flips, standard alphabet, padding, swaps), cookies sealed with
 * another secret or for another audience, shuffled chunks, oversized and duplicated cookies. A
 * request may only be accepted when the client sent the real cookie unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CookieForgeryPropertiesTest {

    private static final String B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static final String NASTY = B64URL + "+/= ;,\"\\\t\r\n\u0000\u00e9\u2028\uFFFD%";

    private final HostileEngine h = new HostileEngine();
    private SessionRoute cookieA;
    private SessionRoute memoryA;
    private SessionRoute cookieB;
    private SessionRoute otherSecretA;
    private String aliceCookie;      // value of session= on cookieA
    private String aliceMemory;      // value of session= on memoryA (110-char header)
    private String bobOtherSecret;   // sealed with OTHER_SECRET, audience a
    private String carolAudienceB;   // audience b
    private List<CookieChunker.Chunk> chunked; // a real session of 6 kB, split in chunks

    @BeforeAll
    void issue() throws Exception {
        cookieA = h.route(SECRET, "\"audience\":\"a\"");
        memoryA = h.route(SECRET, "\"audience\":\"a\",\"storage\":\"memory\"");
        cookieB = h.route(SECRET, "\"audience\":\"b\"");
        otherSecretA = h.route(OTHER_SECRET, "\"audience\":\"a\"");
        aliceCookie = value(login(cookieA, "alice"));
        aliceMemory = value(login(memoryA, "alice"));
        bobOtherSecret = value(login(otherSecretA, "bob"));
        carolAudienceB = value(login(cookieB, "carol"));
        assertEquals(110, aliceMemory.length());
        chunked = bigSession(aliceCookie);
        assertTrue(chunked.size() >= 2, "chunked: " + chunked.size());
        assertEquals("alice", subject(h.engine.onRequest(cookieA, HostileRequest.get().cookie(jar(chunked)))),
                "the unmodified chunked session opens");
        assertEquals("alice", subject(h.engine.onRequest(cookieA, HostileRequest.get().cookie("session=" + aliceCookie))));
        assertEquals("alice", subject(h.engine.onRequest(memoryA, HostileRequest.get().cookie("session=" + aliceMemory))));
    }

    @AfterAll
    void close() {
        h.close();
    }

    private String login(SessionRoute route, String consumer) throws Exception {
        RequestDecision d = h.engine.onRequest(route, HostileRequest.get().consumer(consumer));
        assertEquals(consumer, subject(d));
        return HostileEngine.cookieHeader(d);
    }

    private static String value(String cookieHeader) {
        assertTrue(cookieHeader.startsWith("session="), cookieHeader);
        return cookieHeader.substring("session=".length());
    }

    /** Re-seals alice's real session with 6 kB of data under the real secret: a genuine chunked cookie. */
    private static List<CookieChunker.Chunk> bigSession(String small) throws Exception {
        SessionCodec codec = new SessionCodec(List.of(SessionCodec.ikmOf(SECRET)), 0);
        SessionCodec.Verified v = codec.verifyHeader(small, false, false, new SessionCodec.Timeouts(0, 0, 0), T0);
        String payload = CookieChunker.join("session", small, v.header().dataSize(), n -> null);
        ObjectMapper json = new ObjectMapper();
        ArrayNode plain = (ArrayNode) json.readTree(codec.decrypt(v, payload, KeyDerivation.HKDF));
        byte[] pad = new byte[4500];
        new Random(7).nextBytes(pad);
        JsonPad.put(plain, java.util.Base64.getEncoder().encodeToString(pad));
        SessionCodec.Sealed sealed = codec.seal(SessionCodec.newSessionId(), 0, T0, 0, 0,
                json.writeValueAsBytes(plain), KeyDerivation.HKDF);
        return CookieChunker.split("session", sealed.encodedHeader(), sealed.payload());
    }

    private static final class JsonPad {
        static void put(ArrayNode plain, String pad) {
            ArrayNode first = (ArrayNode) plain.get(0);
            if (first.get(0) instanceof ObjectNode data) {
                data.put("pad", pad);
            } else {
                ObjectNode data = first.objectNode();
                data.put("pad", pad);
                first.set(0, data);
            }
        }
    }

    private static String jar(List<CookieChunker.Chunk> chunks) {
        StringBuilder sb = new StringBuilder();
        for (CookieChunker.Chunk c : chunks) {
            sb.append(sb.length() == 0 ? "" : "; ").append(c.name()).append('=').append(c.value());
        }
        return sb.toString();
    }

    /** What the request's Cookie parser makes of a value: trim() (controls too), one pair of quotes removed. */
    static String normalized(String v) {
        String t = v.trim();
        int semi = t.indexOf(';');
        if (semi >= 0) {
            t = t.substring(0, semi).trim();
        }
        if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
            t = t.substring(1, t.length() - 1);
        }
        return t;
    }

    /**
     * Server-side storage accepts exactly the 110-character header (lua-resty-session would ignore
     * characters after it; the engine refuses them).
     */
    private boolean sameHeader(String v) {
        return normalized(v).equals(aliceMemory);
    }

    /**
     * Cookie storage accepts exactly the header followed by the payload (lua-resty-session reads the
     * payload from the end and would ignore characters inserted between the two; the engine
     * refuses them).
     */
    private boolean sameCookie(String v) {
        return normalized(v).equals(aliceCookie);
    }

    /**
     * The rule on a value handed to the codec directly, without the engine: the codec itself reads
     * like lua-resty-session (header from the start, payload from the end).
     */
    private boolean sameCookieRaw(String v) {
        return v.startsWith(aliceCookie.substring(0, 110)) && v.endsWith(aliceCookie.substring(110));
    }

    /** Alice's session opens exactly when the client sent her real cookie ({@code sameAsReal}). */
    private Outcome outcome(SessionRoute route, String cookieHeader, boolean sameAsReal) throws Exception {
        RequestDecision d = h.engine.onRequest(route, HostileRequest.get().cookie(cookieHeader));
        String s = subject(d);
        if (s == null && !refused(d)) {
            throw new AssertionError("neither a session nor a 401: " + d);
        }
        if (s != null && !s.equals("alice")) {
            return Outcome.FORGERY;
        }
        return Outcome.of(s != null, sameAsReal);
    }

    // ---- generators ----------------------------------------------------------------------------

    static Gen<String> randomValues() {
        return r -> switch (r.nextInt(5)) {
            case 0 -> Strings.of(r, B64URL, r.nextInt(401));
            case 1 -> Strings.of(r, B64URL, 110);
            case 2 -> Strings.of(r, B64URL, 110 + r.nextInt(300));
            case 3 -> Strings.of(r, NASTY, r.nextInt(301));
            default -> Strings.any(r, r.nextInt(201));
        };
    }

    /** A mutation of a string: an op code and two positions chosen by the generator. */
    record Mutation(int op, int a, int b, char c, int bit) {
        String apply(String s) {
            int len = s.length();
            if (len == 0) {
                return op % 2 == 0 ? "" : String.valueOf(c);
            }
            int i = Math.floorMod(a, len);
            int j = len == 0 ? 0 : Math.floorMod(b, len);
            StringBuilder sb = new StringBuilder(s);
            switch (op) {
                case 0 -> sb.setLength(i);                                        // truncated
                case 1 -> sb.setCharAt(i, (char) (sb.charAt(i) ^ (1 << bit)));    // bit flip
                case 2 -> sb.setCharAt(i, c);                                     // replaced
                case 3 -> sb.insert(i, c);                                        // inserted
                case 4 -> sb.deleteCharAt(i);                                     // deleted
                case 5 -> { return s.replace('-', '+').replace('_', '/'); }       // standard alphabet
                case 6 -> sb.append(bit % 2 == 0 ? "=" : "==");                   // padding
                case 7 -> {                                                       // swapped
                    char t = sb.charAt(i);
                    sb.setCharAt(i, sb.charAt(j));
                    sb.setCharAt(j, t);
                }
                case 8 -> sb.append(s, 0, Math.min(len, 1 + j % 64));             // extended
                case 9 -> { return s.substring(0, Math.min(i, 110)) + s.substring(Math.min(len, 110)); } // header cut
                case 10 -> { return new StringBuilder(s).reverse().toString(); }
                default -> {                                                      // several flips
                    for (int k = 0; k <= bit; k++) {
                        int p = Math.floorMod(a * 31 + k * 7919 + b, sb.length());
                        sb.setCharAt(p, (char) (sb.charAt(p) ^ (1 << (k % 7))));
                    }
                }
            }
            return sb.toString();
        }
    }

    static Gen<Mutation> mutations() {
        return r -> new Mutation(r.nextInt(12), r.nextInt(), r.nextInt(), NASTY.charAt(r.nextInt(NASTY.length())),
                r.nextInt(7));
    }

    // ---- properties ----------------------------------------------------------------------------

    @Test
    void randomCookieValuesAreRefused() {
        HostileRun.run("random-cookie-values", randomValues(), v -> {
            Outcome a = outcome(cookieA, "session=" + v, false);
            Outcome m = outcome(memoryA, "session=" + v, false);
            return a == Outcome.FORGERY || m == Outcome.FORGERY ? Outcome.FORGERY : Outcome.REJECTED;
        });
    }

    @Test
    void mutatedRealCookiesAreRefused() {
        HostileRun.run("mutated-cookie-storage", r -> r.nextBoolean()
                ? List.of(mutations().next(r), mutations().next(r)) : List.of(mutations().next(r)), ms -> {
                    String v = aliceCookie;
                    for (Mutation m : ms) {
                        v = m.apply(v);
                    }
                    return outcome(cookieA, "session=" + v, sameCookie(v));
                });
        HostileRun.run("mutated-memory-storage", mutations(), m -> {
            String v = m.apply(aliceMemory);
            return outcome(memoryA, "session=" + v, sameHeader(v));
        });
    }

    @Test
    void otherSecretOtherAudienceAndOtherStorageAreRefused() {
        HostileRun.run("foreign-cookies", r -> List.<Object>of(r.nextInt(6),
                mutations().next(r), r.nextBoolean()), in -> {
                    int k = (Integer) in.get(0);
                    Mutation m = (Mutation) in.get(1);
                    String v = switch (k) {
                        case 0 -> bobOtherSecret;     // sealed with another secret
                        case 1 -> carolAudienceB;     // another audience
                        case 2 -> aliceMemory;        // a memory header on a cookie-storage route
                        case 3 -> aliceCookie.substring(0, 110); // the header alone
                        case 4 -> aliceMemory + aliceCookie.substring(110); // header of one, payload of another
                        default -> aliceCookie;       // sent to the route of audience b
                    };
                    if ((Boolean) in.get(2)) {
                        v = m.apply(v);
                    }
                    SessionRoute route = k == 5 ? cookieB : cookieA;
                    Outcome o = outcome(route, "session=" + v, false);
                    if (k == 3 || k == 2) {
                        Outcome om = outcome(memoryA, "session=" + v, sameHeader(v));
                        return o == Outcome.FORGERY || om == Outcome.FORGERY ? Outcome.FORGERY : om;
                    }
                    return o;
                });
    }

    @Test
    void shuffledDroppedAndDuplicatedChunksAreRefused() {
        HostileRun.run("shuffled-chunks", r -> List.<Object>of(r.nextLong(), r.nextInt(5),
                mutations().next(r)), in -> {
                    Random r = new Random((Long) in.get(0));
                    int op = (Integer) in.get(1);
                    List<String> values = new ArrayList<>(chunked.stream().map(CookieChunker.Chunk::value).toList());
                    List<String> names = new ArrayList<>(chunked.stream().map(CookieChunker.Chunk::name).toList());
                    switch (op) {
                        case 0 -> Collections.shuffle(values, r);                       // values under other names
                        case 1 -> values.set(r.nextInt(values.size()), values.get(r.nextInt(values.size()))); // dup
                        case 2 -> { int i = 1 + r.nextInt(values.size() - 1); names.remove(i); values.remove(i); }
                        case 3 -> { names.add("session" + (values.size() + 1)); values.add(values.get(1)); } // extra
                        default -> { int i = r.nextInt(values.size()); values.set(i, ((Mutation) in.get(2)).apply(values.get(i))); }
                    }
                    StringBuilder sb = new StringBuilder();
                    boolean same = true;
                    for (int i = 0; i < values.size(); i++) {
                        sb.append(i == 0 ? "" : "; ").append(names.get(i)).append('=').append(values.get(i));
                        if (i < chunked.size()) {
                            same &= names.get(i).equals(chunked.get(i).name())
                                    && normalized(values.get(i)).equals(chunked.get(i).value());
                        }
                    }
                    // an unneeded extra chunk (op 3) is ignored: with it the session is still the real one
                    if (op != 3) {
                        same &= values.size() == chunked.size();
                    }
                    return outcome(cookieA, sb.toString(), same);
                });
    }

    @Test
    void oversizedAndDuplicatedCookiesAreRefusedOrOpenOnlyTheRealOne() {
        HostileRun.run("oversized-duplicated", r -> List.<Object>of(r.nextInt(6),
                1 + r.nextInt(70_000), randomValues().next(r)), in -> {
                    int k = (Integer) in.get(0);
                    int size = (Integer) in.get(1);
                    String junk = (String) in.get(2);
                    String big = "x".repeat(size);
                    String header;
                    boolean same;
                    switch (k) {
                        case 0 -> { header = "session=" + big; same = false; }
                        case 1 -> { header = "session=" + junk + "; session=" + aliceCookie; same = false; } // first wins
                        case 2 -> { header = "session=" + aliceCookie + "; session=" + junk; same = true; }
                        case 3 -> { header = ("c=" + junk + "; ").repeat(1 + size % 500) + "session=" + junk; same = false; }
                        case 4 -> { header = "a=" + big + "; session=" + aliceCookie + big.substring(0, Math.min(size, 5000)); same = false; }
                        default -> { header = "session=" + aliceCookie.substring(0, 110) + big; same = false; }
                    }
                    return outcome(cookieA, header, same);
                });
    }

    /**
     * Found by CookieEngineFuzzTest: the engine trimmed the session cookie a second time after the
     * parser had removed the quotes, so {@code session="\0\0<real cookie>"} opened the session. Only
     * the documented normalisation (trim, then one pair of quotes) may remain.
     */
    @Test
    void whitespaceAndControlsInsideTheQuotesAreNotTrimmedAway() throws Exception {
        for (String pad : List.of("\u0000", " ", "\t", "\u0000".repeat(14), "\u001f")) {
            for (String v : List.of(pad + aliceCookie, aliceCookie + pad, pad + aliceCookie + pad)) {
                assertEquals(Outcome.REJECTED, outcome(cookieA, "a=1; session=\"" + v + "\"; b=2", false), v);
            }
            assertEquals(Outcome.REJECTED, outcome(memoryA, "session=\"" + pad + aliceMemory + "\"", false));
        }
        assertEquals(Outcome.ACCEPTED_SAME, outcome(cookieA, "a=1; session= \"" + aliceCookie + "\"\t; b=2", true));
        assertEquals(Outcome.ACCEPTED_SAME, outcome(memoryA, "session=\"" + aliceMemory + "\"", true));
    }

    @Test
    void codecOnlyThrowsSessionCodecException() {
        SessionCodec codec = new SessionCodec(List.of(SessionCodec.ikmOf(SECRET)), 1024);
        HostileRun.run("codec-direct", r -> List.<Object>of(randomValues().next(r),
                mutations().next(r), r.nextBoolean(), r.nextBoolean()), in -> {
                    String v = ((Mutation) in.get(1)).apply((Boolean) in.get(2) ? aliceCookie : (String) in.get(0));
                    try {
                        SessionCodec.Verified ver = codec.verifyHeader(v, false, (Boolean) in.get(3),
                                new SessionCodec.Timeouts(900, 3600, 86400), T0 + 1);
                        String payload = CookieChunker.join("session", v, ver.header().dataSize(), n -> null);
                        byte[] plain = codec.decrypt(ver, payload, KeyDerivation.HKDF);
                        return sameCookieRaw(v) && plain.length > 0 ? Outcome.ACCEPTED_SAME : Outcome.FORGERY;
                    } catch (SessionCodecException refused) {
                        return Outcome.of(false, sameCookieRaw(v));
                    }
                });
    }
}
