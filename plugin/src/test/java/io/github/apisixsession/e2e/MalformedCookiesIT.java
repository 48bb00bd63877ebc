package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Garbage cookies are no session: no 5xx, no crash, no identity. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedCookiesIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner)
                .route(E2e.apisixRoute("/open/*"))
                .route(E2e.apisixRoute("/strict/*", "reject_status", 401))
                .route(E2e.apisixRoute("/mem/*", "storage", "memory", "reject_status", 401));
    }

    @AfterAll
    void stop() {
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
    }

    private static String flip(String value, int at) {
        char c = value.charAt(at);
        char d = c == 'A' ? 'B' : 'A';
        return value.substring(0, at) + d + value.substring(at + 1);
    }

    private List<String> garbage(String valid) {
        List<String> out = new ArrayList<>();
        out.add("session=%%%");
        out.add("session=");
        out.add("session");
        out.add("session=" + "A".repeat(8192));
        out.add("session=" + "A".repeat(110));
        out.add("session=" + "_".repeat(200));
        out.add("session=a.b.c; session=%00%ff");
        out.add("session=\"quoted\"");
        out.add("session=" + flip(valid, 5));           // type/flags/session id
        out.add("session=" + flip(valid, 60));          // inside the header
        out.add("session=" + flip(valid, 105));         // the truncated HMAC
        if (valid.length() > 120) {
            out.add("session=" + flip(valid, valid.length() - 3)); // ciphertext
        }
        out.add("session=" + valid.substring(0, valid.length() - 1));
        if (valid.length() > 110) {
            // cookie storage: extra data breaks the ciphertext (memory storage only reads the
            // 110-char header, like lua-resty-session, so a trailing char there is not garbage)
            out.add("session=" + valid + "A");
        }
        out.add("session=" + valid.substring(0, 82));
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            many.append("c").append(i).append("=v; ");
        }
        out.add(many + "session=%%%");
        return out;
    }

    private void check(String prefix) {
        CookieJar jar = E2e.login(apisix, runner, prefix + "/login");
        String valid = jar.get("session");
        for (String cookie : garbage(valid)) {
            String shown = cookie.length() > 80 ? cookie.substring(0, 80) + "…" : cookie;
            Exchange ex = apisix.send(ClientRequest.get(prefix + "/data").cookie(cookie));
            assertTrue(ex.status() < 500, "no 5xx for " + shown + "\n" + why(ex, runner));
            if (prefix.equals("/open")) {
                assertEquals(200, ex.status(), shown + "\n" + why(ex, runner));
                assertNotEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), shown + "\n" + why(ex, runner));
            } else {
                assertEquals(401, ex.status(), "treated as no session: " + shown + "\n" + why(ex, runner));
            }
            assertTrue(runner.isAlive(), "runner alive after " + shown);
        }
        // the valid cookie still works afterwards
        E2e.assertIdentity(apisix.send(E2e.withCookies(prefix + "/data", jar)), runner, "fiona");
    }

    @Test
    void garbageCookiesWithoutRejectStatusPassWithoutIdentity() {
        check("/open");
    }

    @Test
    void garbageCookiesWithRejectStatusAreRejectedCookieStorage() {
        check("/strict");
    }

    @Test
    void garbageCookiesWithRejectStatusAreRejectedMemoryStorage() {
        check("/mem");
    }
}
