package io.github.apisixsession.hostile;

import static io.github.apisixsession.hostile.CookieForgeryPropertiesTest.normalized;
import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static io.github.apisixsession.hostile.HostileEngine.refused;
import static io.github.apisixsession.hostile.HostileEngine.subject;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.hostile.CookieForgeryPropertiesTest.Mutation;
import io.github.apisixsession.hostile.HostileRun.Outcome;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The remember cookie and bound sessions under attack. A remember cookie restores a session by
 * itself, so a forged one would be as good as a forged session; a bound session must open only
 * for the client (address, scheme, User-Agent) it was issued to.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RememberAndBindPropertiesTest {
    private static final String UA = "Mozilla/5.0 (X11; Linux x86_64) hostile/1.0";
    private static final String REMEMBER = "\"remember\":true,\"remember_safety\":\"None\"";
    private static final String BIND = "\"bind\":[\"ip\",\"scheme\",\"user-agent\"]";

    private final HostileEngine h = new HostileEngine();
    private SessionRoute rememberCookie;
    private SessionRoute rememberMemory;
    private SessionRoute rememberLow;     // remember_safety Low: PBKDF2, so its own keys
    private SessionRoute bound;
    private String rememberCookieValue; // remember= on rememberCookie
    private String rememberMemoryValue; // remember= on rememberMemory
    private String sessionOfRememberRoute;
    private String rememberLowValue;
    private String sessionOfRememberLow;
    private String boundSession;        // session= on bound, issued to 10.0.0.7 / https / UA

    @BeforeAll
    void issue() throws Exception {
        rememberCookie = h.route(SECRET, REMEMBER);
        rememberMemory = h.route(SECRET, REMEMBER + ",\"storage\":\"memory\"");
        bound = h.route(SECRET, BIND);
        rememberLow = h.route(SECRET, "\"remember\":true,\"remember_safety\":\"Low\",\"audience\":\"low\"");
        RequestDecision lowLogin = h.engine.onRequest(rememberLow, HostileRequest.get().consumer("alice"));
        rememberLowValue = value(lowLogin, "remember");
        sessionOfRememberLow = value(lowLogin, "session");
        RequestDecision login = h.engine.onRequest(rememberCookie, HostileRequest.get().consumer("alice"));
        rememberCookieValue = value(login, "remember");
        sessionOfRememberRoute = value(login, "session");
        rememberMemoryValue = value(h.engine.onRequest(rememberMemory, HostileRequest.get().consumer("alice")),
                "remember");
        boundSession = value(h.engine.onRequest(bound, boundRequest().consumer("alice")), "session");
        assertEquals("alice", subject(h.engine.onRequest(bound, boundRequest().cookie("session=" + boundSession))));
        assertEquals("alice", subject(h.engine.onRequest(rememberCookie,
                HostileRequest.get().cookie("remember=" + rememberCookieValue))), "the real remember cookie restores");
    }

    @AfterAll
    void close() {
        h.close();
    }

    private static HostileRequest boundRequest() {
        HostileRequest r = HostileRequest.get().from("10.0.0.7").header("User-Agent", UA);
        r.variables.put("scheme", "https");
        return r;
    }

    private static String value(RequestDecision d, String name) {
        for (String sc : HostileEngine.setCookies(d)) {
            if (sc.startsWith(name + "=")) {
                return sc.substring(name.length() + 1, sc.indexOf(';'));
            }
        }
        throw new AssertionError("no " + name + " cookie in " + HostileEngine.setCookies(d));
    }

    private Outcome outcome(SessionRoute route, HostileRequest request, boolean sameAsReal) throws Exception {
        RequestDecision d = h.engine.onRequest(route, request);
        if (subject(d) == null) {
            if (!refused(d)) {
                throw new AssertionError("neither a session nor a 401: " + d);
            }
            for (HttpHeader sc : ((RequestDecision.Respond) d).headers()) {
                if (sc.is("Set-Cookie") && !sc.value().contains("Max-Age=0")) {
                    throw new AssertionError("a refused request got a cookie: " + sc.value());
                }
            }
            return Outcome.of(false, sameAsReal);
        }
        return Outcome.of(true, sameAsReal);
    }

    private static String mutate(Random r, String v) {
        Mutation m = CookieForgeryPropertiesTest.mutations().next(r);
        String out = m.apply(v);
        return r.nextInt(3) == 0 ? CookieForgeryPropertiesTest.mutations().next(r).apply(out) : out;
    }

    @Test
    void mutatedRememberCookiesRestoreNothing() {
        HostileRun.run("mutated-remember-cookie", r -> mutate(r, rememberCookieValue),
                v -> outcome(rememberCookie, HostileRequest.get().cookie("remember=" + v),
                        normalized(v).equals(rememberCookieValue)));
        HostileRun.run("mutated-remember-memory", r -> mutate(r, rememberMemoryValue),
                v -> outcome(rememberMemory, HostileRequest.get().cookie("remember=" + v),
                        normalized(v).equals(rememberMemoryValue)));
    }

    @Test
    void sessionAndRememberCookiesDoNotStandInForEachOther() throws Exception {
        // With remember_safety "None" lua-resty-session derives the remember cookie's keys like the
        // session's (HKDF of the same secret) and its header has no kind flag, so a remember cookie
        // sent as the session cookie opens: the same subject, within the session's own timeouts.
        // With PBKDF2 (any other safety) the keys differ and neither stands in for the other.
        assertEquals("alice", subject(h.engine.onRequest(rememberCookie,
                HostileRequest.get().cookie("session=" + rememberCookieValue))), "lua's behaviour with None");
        assertNull(subject(h.engine.onRequest(rememberLow, HostileRequest.get().cookie("session=" + rememberLowValue))));
        assertNull(subject(h.engine.onRequest(rememberLow, HostileRequest.get().cookie("remember=" + sessionOfRememberLow))));
        assertNull(subject(h.engine.onRequest(bound, boundRequest().cookie("session=" + rememberCookieValue))),
                "an unbound cookie on a binding route");
        HostileRun.run("remember-session-swapped", Math.max(1, HostileRun.TRIES / 5), r -> List.<Object>of(
                r.nextBoolean(), r.nextInt(4) == 0 ? (r.nextBoolean() ? sessionOfRememberLow : rememberLowValue)
                        : mutate(r, r.nextBoolean() ? sessionOfRememberLow : rememberLowValue)),
                in -> {
                    boolean asRemember = (Boolean) in.get(0);
                    String v = (String) in.get(1);
                    String cookie = asRemember ? "remember=" + v : "session=" + v;
                    boolean real = normalized(v).equals(asRemember ? rememberLowValue : sessionOfRememberLow);
                    return outcome(rememberLow, HostileRequest.get().cookie(cookie), real);
                });
    }

    @Test
    void aBoundSessionOpensOnlyForItsClient() throws Exception {
        String[] addresses = {"10.0.0.7", "10.0.0.8", "::1", "10.0.0.70", " 10.0.0.7", "", "10.0.0.7\u0000"};
        String[] schemes = {"https", "http", "HTTPS", "", "https "};
        String[] agents = {UA, UA + " ", UA.toLowerCase(), "", "curl/8.0", UA.substring(0, UA.length() - 1)};
        HostileRun.run("bound-session-elsewhere", r -> List.<Object>of(r.nextInt(addresses.length),
                r.nextInt(schemes.length), r.nextInt(agents.length), r.nextInt(4) == 0 ? mutate(r, boundSession)
                        : boundSession), in -> {
                    String address = addresses[(Integer) in.get(0)];
                    String scheme = schemes[(Integer) in.get(1)];
                    String agent = agents[(Integer) in.get(2)];
                    String v = (String) in.get(3);
                    HostileRequest req = HostileRequest.get().from(address).cookie("session=" + v);
                    if (!agent.isEmpty()) {
                        req.header("User-Agent", agent);
                    }
                    req.variables.put("scheme", scheme);
                    boolean sameClient = address.equals("10.0.0.7") && scheme.equals("https") && agent.equals(UA);
                    return outcome(bound, req, sameClient && normalized(v).equals(boundSession));
                });
        // and the property's accept rule is not vacuous: the real client still opens it
        assertNotNull(subject(h.engine.onRequest(bound, boundRequest().cookie("session=" + boundSession))));
    }
}
