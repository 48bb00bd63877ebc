package io.github.apisixsession.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.hostile.HostileEngine;
import io.github.apisixsession.hostile.HostileRequest;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/**
 * Logout detection on fuzzed requests that carry lou's valid memory-storage session: method,
 * query arguments and a body read for {@code read_body_for_logout} (urlencoded or JSON, by
 * Content-Type). The input is UTF-8 text: line 1 the method, line 2 the Content-Type, line 3 the
 * query arguments ({@code name=value&name}), the rest the body.
 *
 * <p>Oracle: no exception; the answer is lou's session or a logout (200), never a refusal; a
 * logout only for a logout method, and always when such a method carries {@code session_logout} or
 * {@code session_logout_all}; a logout without those arguments only from a non-empty body of
 * POST/PUT/PATCH/DELETE; and after a logout the cookie opens nothing, while otherwise it still opens.
 */
class LogoutRequestFuzzTest {

    private static final Set<String> LOGOUT_METHODS = Set.of("POST", "DELETE", "GET");
    private static final Set<String> BODY_METHODS = Set.of("POST", "PUT", "PATCH", "DELETE");
    private static final SessionRoute ROUTE;

    static {
        try {
            ROUTE = Genuine.H.route(HostileEngine.SECRET, "\"audience\":\"l\",\"storage\":\"memory\","
                    + "\"memory\":{\"max_entries\":1000},\"read_body_for_logout\":true,"
                    + "\"logout_methods\":[\"POST\",\"DELETE\",\"GET\"],"
                    + "\"store_metadata\":true,\"logout_all_query_arg\":\"session_logout_all\"");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest
    void logoutDetection(byte[] data) throws Exception {
        String[] parts = new String(data, StandardCharsets.UTF_8).split("\n", 4);
        String method = parts[0];
        HostileRequest request = new HostileRequest(method, "/");
        if (parts.length > 1) {
            request.header("Content-Type", parts[1]);
        }
        boolean queryLogout = false;
        if (parts.length > 2 && !parts[2].isEmpty()) {
            for (String pair : parts[2].split("&", -1)) {
                int eq = pair.indexOf('=');
                String name = eq < 0 ? pair : pair.substring(0, eq);
                request.arg(name, eq < 0 ? "" : pair.substring(eq + 1));
                queryLogout |= name.equals("session_logout") || name.equals("session_logout_all");
            }
        }
        byte[] body = parts.length > 3 ? parts[3].getBytes(StandardCharsets.UTF_8) : new byte[0];
        request.body(body);

        String cookie = HostileEngine.cookieHeader(Genuine.H.engine.onRequest(ROUTE,
                HostileRequest.get().consumer("lou")));
        request.cookie(cookie);
        RequestDecision d = Genuine.H.engine.onRequest(ROUTE, request);

        boolean loggedOut;
        if (d instanceof RequestDecision.Respond r && r.status() == 200) {
            loggedOut = true;
        } else if ("lou".equals(HostileEngine.subject(d))) {
            loggedOut = false;
        } else {
            throw new AssertionError("neither lou's session nor a logout: " + d);
        }
        String upper = method.toUpperCase(Locale.ROOT);
        boolean logoutMethod = LOGOUT_METHODS.contains(upper);
        if (loggedOut && !logoutMethod) {
            throw new AssertionError("logout by method " + method);
        }
        if (!loggedOut && logoutMethod && queryLogout) {
            throw new AssertionError("a logout query argument was ignored: " + request);
        }
        if (loggedOut && !queryLogout && (!BODY_METHODS.contains(upper) || body.length == 0)) {
            throw new AssertionError("logout without a logout argument: " + request);
        }
        RequestDecision after = Genuine.H.engine.onRequest(ROUTE, HostileRequest.get().cookie(cookie));
        if (loggedOut ? !HostileEngine.refused(after) : !"lou".equals(HostileEngine.subject(after))) {
            throw new AssertionError((loggedOut ? "opens after the logout: " : "lost without a logout: ") + after);
        }
    }
}
