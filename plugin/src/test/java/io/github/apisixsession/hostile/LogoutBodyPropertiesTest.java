package io.github.apisixsession.hostile;

import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static io.github.apisixsession.hostile.HostileEngine.refused;
import static io.github.apisixsession.hostile.HostileEngine.subject;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.hostile.HostileRun.Outcome;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Request bodies read for logout ({@code read_body_for_logout}) under attack: random bytes,
 * urlencoded forms and JSON of any shape, nesting and size. Each input is a POST carrying a fresh
 * session; the session must end exactly when the body names {@code session_logout} the way Kong
 * reads it (a top-level form key or JSON field whose value is not false or null), and survive
 * otherwise, also on a route that does not read bodies. Nothing may throw.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LogoutBodyPropertiesTest {
    private static final String ARG = "session_logout";
    private static final String[] FORM_TYPES = {"application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED", ""};
    private static final String[] OTHER_TYPES = {"text/plain", "multipart/form-data; boundary=x",
        "application/xml", "application/jsonx-not"};

    private final HostileEngine h = new HostileEngine();
    private SessionRoute readsBody;
    private SessionRoute ignoresBody;

    @BeforeAll
    void routes() throws Exception {
        readsBody = h.route(SECRET, "\"storage\":\"memory\",\"read_body_for_logout\":true");
        ignoresBody = h.route(SECRET, "\"storage\":\"memory\",\"audience\":\"nobody\"");
    }

    @AfterAll
    void close() {
        h.close();
    }

    /** A body, its Content-Type, and whether Kong's reading finds the logout argument in it. */
    record Body(String type, byte[] bytes, boolean logout) {
        @Override
        public String toString() {
            String text = new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.ISO_8859_1);
            return type + " (" + bytes.length + " bytes, logout=" + logout + "): " + text;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String randomPair(Random r) {
        String key = Strings.of(r, "abcdefghijklmnopqrstuvwxyz_%+=.;2F5", 1 + r.nextInt(12));
        return r.nextInt(5) == 0 ? key : key + "=" + Strings.of(r, "abc123%+=;&_", r.nextInt(10));
    }

    private static String nearMiss(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> "x" + ARG;
            case 1 -> ARG + "2";
            case 2 -> ARG.substring(0, ARG.length() - 1);
            case 3 -> ARG.toUpperCase();
            case 4 -> " " + ARG;
            default -> "a[" + ARG + "]";
        };
    }

    private static String json(Object value) {
        return value == null ? "null" : value instanceof String s ? "\"" + s + "\"" : value.toString();
    }

    static Body next(Random r) {
        switch (r.nextInt(9)) {
            case 0: { // random bytes, any type
                byte[] b = new byte[r.nextInt(300)];
                r.nextBytes(b);
                String[] all = r.nextBoolean() ? FORM_TYPES : OTHER_TYPES;
                return new Body(r.nextBoolean() ? "application/json" : all[r.nextInt(all.length)], b, false);
            }
            case 1: { // a form with the argument among random pairs, the key maybe percent-encoded
                List<String> pairs = new ArrayList<>();
                for (int i = r.nextInt(6); i > 0; i--) {
                    pairs.add(randomPair(r).replace(ARG, "x"));
                }
                String key = switch (r.nextInt(3)) {
                    case 0 -> ARG;
                    case 1 -> "session%5Flogout";
                    default -> "session_l%6Fgout";
                };
                pairs.add(r.nextInt(pairs.size() + 1), r.nextBoolean() ? key : key + "=" + r.nextInt(3));
                String type = FORM_TYPES[r.nextInt(FORM_TYPES.length)];
                return new Body(type, utf8(String.join("&", pairs)), true);
            }
            case 2: { // the same form under a type Kong does not read
                return new Body(OTHER_TYPES[r.nextInt(OTHER_TYPES.length)], utf8("a=1&" + ARG + "=true"), false);
            }
            case 3: { // near misses in a form, malformed escapes around them
                List<String> pairs = new ArrayList<>(List.of(nearMiss(r) + "=1", "%zz", "%", "a=%E0%A4%A", "&&"));
                Collections.shuffle(pairs, r);
                return new Body(FORM_TYPES[r.nextInt(FORM_TYPES.length)], utf8(String.join("&", pairs)), false);
            }
            case 4: { // malformed escapes next to the real argument
                return new Body(FORM_TYPES[r.nextInt(FORM_TYPES.length)], utf8("%zz=1&%&" + ARG + "&b=%E0%A4%A"), true);
            }
            case 5: { // a JSON object with the field at the top level
                Object[] values = {true, 1, 0, "\"x\"", "\"\"", "{}", "[]", false, null, "\"false\""};
                Object v = values[r.nextInt(values.length)];
                StringBuilder sb = new StringBuilder("{");
                for (int i = r.nextInt(4); i > 0; i--) {
                    sb.append('"').append(Strings.of(r, "abcxyz", 1 + r.nextInt(5))).append("\":")
                            .append(r.nextInt(100)).append(',');
                }
                sb.append('"').append(ARG).append("\":").append(v instanceof String s ? s : json(v)).append('}');
                boolean logout = !(v instanceof Boolean b && !b) && v != null;
                return new Body("application/json" + (r.nextBoolean() ? "; charset=utf-8" : ""), utf8(sb.toString()),
                        logout);
            }
            case 6: { // the field nested, in an array, or a near miss: not a top-level field
                String inner = switch (r.nextInt(4)) {
                    case 0 -> "{\"a\":{\"" + ARG + "\":true}}";
                    case 1 -> "[{\"" + ARG + "\":true}]";
                    case 2 -> "{\"" + nearMiss(r) + "\":true}";
                    default -> "\"" + ARG + "\"";
                };
                return new Body("application/json", utf8(inner), false);
            }
            case 7: { // deep nesting, huge numbers, broken JSON
                int depth = 1 + r.nextInt(r.nextBoolean() ? 50 : 100_000);
                String body = switch (r.nextInt(4)) {
                    case 0 -> "[".repeat(depth) + "]".repeat(depth);
                    case 1 -> "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
                    case 2 -> "{\"" + ARG + "\":" + "9".repeat(depth) + "e99999999999";
                    default -> "{\"" + ARG + "\":tru";
                };
                return new Body("application/json", utf8(body), false);
            }
            default: { // a large form without the argument
                StringBuilder sb = new StringBuilder();
                while (sb.length() < 20_000 + r.nextInt(200_000)) {
                    sb.append(randomPair(r).replace(ARG, "x")).append('&');
                }
                return new Body(FORM_TYPES[r.nextInt(FORM_TYPES.length)], utf8(sb.toString()), false);
            }
        }
    }

    /** Logs in, posts the body with the cookie, then asks whether the session still opens. */
    private Outcome post(SessionRoute route, Body body, boolean expectLogout) throws Exception {
        String cookie = HostileEngine.cookieHeader(h.engine.onRequest(route, HostileRequest.get().consumer("alice")));
        HostileRequest post = new HostileRequest("POST", "/").cookie(cookie).body(body.bytes());
        if (!body.type().isEmpty()) {
            post.header("Content-Type", body.type());
        }
        RequestDecision d = h.engine.onRequest(route, post);
        boolean ended;
        RequestDecision after = h.engine.onRequest(route, HostileRequest.get().cookie(cookie));
        if ("alice".equals(subject(after))) {
            ended = false;
        } else if (refused(after)) {
            ended = true;
        } else {
            throw new AssertionError("neither alice nor a 401 after the POST: " + after);
        }
        if (!ended && !"alice".equals(subject(d))) {
            throw new AssertionError("the POST neither logged out nor went through as alice: " + d);
        }
        return ended == expectLogout ? (ended ? Outcome.ACCEPTED_SAME : Outcome.REJECTED) : Outcome.FORGERY;
    }

    @Test
    void theSessionEndsExactlyWhenTheBodyAsksForIt() {
        HostileRun.run("logout-bodies", Math.max(1, HostileRun.TRIES / 5), LogoutBodyPropertiesTest::next,
                body -> post(readsBody, body, body.logout()));
    }

    @Test
    void aRouteThatDoesNotReadBodiesIgnoresThemAll() {
        HostileRun.run("logout-bodies-ignored", Math.max(1, HostileRun.TRIES / 5), LogoutBodyPropertiesTest::next,
                body -> post(ignoresBody, body, false));
    }

    @Test
    void theQueryArgumentStillLogsOutWhateverTheBody() throws Exception {
        Random r = new Random(HostileRun.SEED);
        for (int i = 0; i < 50; i++) {
            Body body = next(r);
            String cookie = HostileEngine.cookieHeader(h.engine.onRequest(readsBody, HostileRequest.get().consumer("alice")));
            HostileRequest post = new HostileRequest("POST", "/").cookie(cookie).body(body.bytes()).arg(ARG, "");
            post.header("Content-Type", body.type());
            h.engine.onRequest(readsBody, post);
            assertEquals(true, refused(h.engine.onRequest(readsBody, HostileRequest.get().cookie(cookie))), body.toString());
        }
    }
}
