package io.github.apisixsession.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.apisixsession.core.CoreFuzzAccess;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.hostile.HostileEngine;
import io.github.apisixsession.hostile.HostileRequest;
import java.util.List;
import java.util.Map;

/**
 * Fuzzed Cookie headers against the engine: a cookie-storage route and a memory-storage route of
 * audience a (where alice has a session), and a remember route of audience r (where nobody has).
 * Each line of the input ({@link FuzzInput}) is one Cookie header; placeholders
 * ({@link Genuine#expand}) bring in the genuine cookies, and the optional flip damages one
 * character of the expanded text, the authenticated bytes included.
 *
 * <p>Oracle: nothing but a refusal with the route's status (401) or alice's session comes back, no
 * exception escapes, and alice's session opens exactly when the cookies, as the engine's parser
 * reads them (first name wins, trimmed, one pair of quotes removed), are her genuine cookie: only
 * then, and then always.
 */
class CookieEngineFuzzTest {

    @FuzzTest
    void cookieHeaders(byte[] data) {
        List<String> headers = Genuine.lines(FuzzInput.of(data).text());
        Map<String, String> cookies = CoreFuzzAccess.parseCookies(headers);
        check(Genuine.COOKIE, headers, Genuine.carriesGenuineCookieSession(cookies));
        check(Genuine.MEMORY, headers, Genuine.carriesGenuineMemorySession(cookies));
        check(Genuine.REMEMBER, headers, false);
    }

    private static void check(SessionRoute route, List<String> headers, boolean genuine) {
        HostileRequest request = HostileRequest.get();
        headers.forEach(request::cookie);
        RequestDecision d;
        try {
            d = Genuine.H.engine.onRequest(route, request);
        } catch (Exception e) {
            throw new AssertionError("unexpected exception", e);
        }
        String subject = HostileEngine.subject(d);
        if (subject == null) {
            if (!HostileEngine.refused(d)) {
                throw new AssertionError("neither a session nor a 401: " + d);
            }
            if (genuine) {
                throw new AssertionError("GENUINE REFUSED: alice's real cookie did not open: " + headers);
            }
        } else if (!genuine || !subject.equals("alice")) {
            throw new AssertionError("FORGERY: session of " + subject + " opened by " + headers);
        }
    }
}
