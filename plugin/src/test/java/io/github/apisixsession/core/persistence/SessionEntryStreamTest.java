package io.github.apisixsession.core.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The streaming reader never decides differently from the tree reader. */
class SessionEntryStreamTest {

    private static final JsonFactory FACTORY = new JsonFactory();

    private static List<SessionEntry> stream(String json) {
        return SessionEntryStream.read(FACTORY, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsWhatTheEncoderWrites() throws Exception {
        List<SessionEntry> entries = List.of(
                new SessionEntry("default", "fiona", "fiona", "cred-1", List.of("staff", "a\"b"),
                        Map.of("user_id", "42", "é", "ü\u0000"), "fam"),
                SessionEntry.anonymous("shop", null),
                new SessionEntry("x", null, null, null, List.of(), Map.of(), "f2"),
                new SessionEntry("y", "s", null, null, List.of(), Map.of(), null));
        byte[] json = SessionEntry.encode(entries);
        List<SessionEntry> streamed = SessionEntryStream.read(FACTORY, json);
        assertNotNull(streamed, new String(json, StandardCharsets.UTF_8));
        assertEquals(entries, streamed);
        assertEquals(SessionEntry.decodeTree(json), streamed);
    }

    @Test
    void leavesOtherShapesToTheTreeReader() {
        for (String json : new String[] {"", " ", "[]", "{}", "[[{}, \"a\"]] x", "[[{}, \"a\"]] [", "[[{}, 1]]",
            "[[{}, \"a\", 2]]", "[[{}, \"a\", \"s\", \"t\"]]", "[[{\"k\": 1}, \"a\"]]", "[[[\"c\"], \"a\"]]",
            "[[[\"c\", \"d\", null, {\"k\": \"v\", \"k\": \"w\"}], \"a\"]]",
            "[[[\"c\", \"d\", null, {\"k\": null}], \"a\"]]", "[[[1, \"d\", null, {}], \"a\"]]",
            "[[[\"c\", \"d\", [1], {}], \"a\"]]", "[[[\"c\", \"d\", \"g\", {}], \"a\"]]",
            "[[[\"c\", \"d\", null, {}, 5], \"a\"]]", "[[[\"c\", \"d\", null, {}, \"f\", 6], \"a\"]]",
            "[[{}, \"a\"], 3]", "[[{}, \"a\"]", "[\"a\"]", "[[null, \"a\"]]"}) {
            assertNull(stream(json), json);
        }
    }

    /** Random documents near the encoder's shape: accepted ones must decode as the tree decodes them. */
    @Test
    void agreesWithTheTreeReaderOnRandomDocuments() throws Exception {
        Random random = new Random(20261206);
        int accepted = 0;
        for (int i = 0; i < 20_000; i++) {
            String json = document(random);
            List<SessionEntry> streamed = stream(json);
            if (streamed == null) {
                continue;
            }
            accepted++;
            assertEquals(SessionEntry.decodeTree(json.getBytes(StandardCharsets.UTF_8)), streamed, json);
        }
        assertEquals(true, accepted > 2_000, "too few documents in the encoder's shape: " + accepted);
        assertThrows(SessionEntry.InvalidEntries.class,
                () -> SessionEntry.decode("[[{}, 1]]".getBytes(StandardCharsets.UTF_8)));
    }

    private static String document(Random r) {
        StringBuilder sb = new StringBuilder("[");
        int n = r.nextInt(8) == 0 ? 0 : 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            sb.append(i > 0 ? ", " : "").append(entry(r));
        }
        sb.append(']');
        if (r.nextInt(20) == 0) {
            sb.append(r.nextBoolean() ? " 1" : " ");
        }
        return sb.toString();
    }

    private static String entry(Random r) {
        if (r.nextInt(30) == 0) {
            return value(r);
        }
        StringBuilder sb = new StringBuilder("[");
        sb.append(r.nextInt(4) == 0 ? (r.nextInt(3) == 0 ? "{\"k\": \"v\"}" : "{}") : data(r));
        int more = r.nextInt(12) == 0 ? r.nextInt(4) : 1 + r.nextInt(2);
        for (int i = 0; i < more; i++) {
            sb.append(", ").append(r.nextInt(6) == 0 ? value(r) : string(r));
        }
        return sb.append(']').toString();
    }

    private static String data(Random r) {
        StringBuilder sb = new StringBuilder("[");
        int size = r.nextInt(10) == 0 ? r.nextInt(7) : 4 + r.nextInt(2);
        for (int i = 0; i < size; i++) {
            sb.append(i > 0 ? ", " : "");
            switch (r.nextInt(10) == 0 ? 5 : i) {
                case 0, 1 -> sb.append(r.nextInt(3) == 0 ? "null" : string(r));
                case 2 -> sb.append(r.nextInt(3) == 0 ? "null" : groups(r));
                case 3 -> sb.append(extra(r));
                case 4 -> sb.append(string(r));
                default -> sb.append(value(r));
            }
        }
        return sb.append(']').toString();
    }

    private static String groups(Random r) {
        StringBuilder sb = new StringBuilder("[");
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
            sb.append(i > 0 ? ", " : "").append(r.nextInt(15) == 0 ? value(r) : string(r));
        }
        return sb.append(']').toString();
    }

    private static String extra(Random r) {
        StringBuilder sb = new StringBuilder("{");
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
            String key = r.nextInt(5) == 0 ? "\"k\"" : string(r);
            sb.append(i > 0 ? ", " : "").append(key).append(": ").append(r.nextInt(8) == 0 ? value(r) : string(r));
        }
        return sb.append('}').toString();
    }

    private static String string(Random r) {
        String[] s = {"\"a\"", "\"fiona\"", "\"\"", "\"k\"", "\"\\u00e9\\n\\\"\"", "\"x y\"", "\"12\""};
        return s[r.nextInt(s.length)];
    }

    private static String value(Random r) {
        String[] v = {"null", "1", "-2.5e3", "true", "false", "{}", "[]", "[1, \"a\"]", "{\"a\": {\"b\": 1}}", "\"s\""};
        return v[r.nextInt(v.length)];
    }
}
