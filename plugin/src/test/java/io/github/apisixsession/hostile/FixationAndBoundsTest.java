package io.github.apisixsession.hostile;

import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static io.github.apisixsession.hostile.HostileEngine.cookieHeader;
import static io.github.apisixsession.hostile.HostileEngine.refused;
import static io.github.apisixsession.hostile.HostileEngine.subject;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.Base64Url;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Session fixation, audience separation, oversized headers and the memory storage's bound, at engine level. */
class FixationAndBoundsTest {

    private final HostileEngine h = new HostileEngine();

    @AfterEach
    void close() {
        h.close();
    }

    /** The session id of a cookie: bytes 3..35 of its header. */
    private static String sid(String cookieHeader) throws Exception {
        String v = cookieHeader.substring(cookieHeader.indexOf('=') + 1);
        return Arrays.toString(Arrays.copyOfRange(Base64Url.decode(v.substring(0, 110)), 3, 35));
    }

    @Test
    void everyLoginGetsANewSessionIdEvenOverAnotherSubjectsValidSession() throws Exception {
        for (String storage : List.of("cookie", "memory")) {
            SessionRoute route = h.route(SECRET, "\"storage\":\"" + storage + "\"");
            String mallory = cookieHeader(h.engine.onRequest(route, HostileRequest.get().consumer("mallory")));
            Set<String> ids = new HashSet<>();
            ids.add(sid(mallory));
            for (String victim : List.of("alice", "bob", "alice")) {
                // the attacker planted their own valid session; the victim logs in with it present
                RequestDecision d = h.engine.onRequest(route, HostileRequest.get().cookie(mallory).consumer(victim));
                assertEquals(victim, subject(d), storage);
                String issued = cookieHeader(d);
                assertTrue(ids.add(sid(issued)), storage + ": a login reused a session id");
                // the planted cookie never opens as the victim (the engine ends it at the login)
                String planted = subject(h.engine.onRequest(route, HostileRequest.get().cookie(mallory)));
                assertTrue(planted == null || planted.equals("mallory"), storage + ": planted cookie opened as " + planted);
                assertEquals(victim, subject(h.engine.onRequest(route, HostileRequest.get().cookie(issued))));
            }
        }
    }

    @Test
    void aSessionOfOneAudienceIsRefusedOnARouteOfAnother() throws Exception {
        for (String storage : List.of("cookie", "memory")) {
            SessionRoute a = h.route(SECRET, "\"audience\":\"a\",\"storage\":\"" + storage + "\"");
            SessionRoute b = h.route(SECRET, "\"audience\":\"b\",\"storage\":\"" + storage + "\"");
            String alice = cookieHeader(h.engine.onRequest(a, HostileRequest.get().consumer("alice")));
            assertTrue(refused(h.engine.onRequest(b, HostileRequest.get().cookie(alice))), storage);
            assertEquals("alice", subject(h.engine.onRequest(a, HostileRequest.get().cookie(alice))), storage);
        }
    }

    @Test
    void headersOf64KiloBytesAndThousandsOfCookiesNeitherFailNorOpen() throws Exception {
        SessionRoute route = h.route(SECRET, "");
        String alice = cookieHeader(h.engine.onRequest(route, HostileRequest.get().consumer("alice")));
        String big = "A".repeat(64 * 1024);
        List<HostileRequest> requests = new ArrayList<>();
        requests.add(HostileRequest.get().cookie("session=" + big));
        requests.add(HostileRequest.get().cookie(big));
        requests.add(HostileRequest.get().cookie("c=1; ".repeat(13_000)));
        requests.add(HostileRequest.get().cookie("session" + "2=x; session".repeat(5000) + "=" + big));
        HostileRequest many = HostileRequest.get();
        for (int i = 0; i < 2000; i++) {
            many.cookie("c" + i + "=" + "v".repeat(32));
        }
        requests.add(many);
        for (HostileRequest q : requests) {
            assertTrue(refused(h.engine.onRequest(route, q)), "a 64 KB header is refused with 401");
        }
        // the real cookie after 64 KB of others still opens (first occurrence of each name wins)
        HostileRequest padded = HostileRequest.get().cookie("x=" + big + "; " + alice);
        assertEquals("alice", subject(h.engine.onRequest(route, padded)));
    }

    @Test
    void memoryStorageAtItsLimitStaysBoundedAndTheNewestSessionsOpen() throws Exception {
        int max = 100;
        SessionRoute route = h.route(SECRET, "\"storage\":\"memory\",\"memory\":{\"max_entries\":" + max + "}");
        List<String> cookies = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            cookies.add(cookieHeader(h.engine.onRequest(route, HostileRequest.get().consumer("u" + i))));
        }
        int open = 0;
        for (int i = 0; i < cookies.size(); i++) {
            String s = subject(h.engine.onRequest(route, HostileRequest.get().cookie(cookies.get(i))));
            if (s != null) {
                assertEquals("u" + i, s);
                open++;
            }
        }
        assertTrue(open <= max, "at most max_entries sessions survive: " + open);
        assertEquals("u4999", subject(h.engine.onRequest(route, HostileRequest.get().cookie(cookies.get(4999)))),
                "the newest session opens");
        int oldOpen = 0;
        for (int i = 0; i < 1000; i++) {
            oldOpen += subject(h.engine.onRequest(route, HostileRequest.get().cookie(cookies.get(i)))) == null ? 0 : 1;
        }
        assertEquals(0, oldOpen, "the oldest 1,000 sessions were evicted");
        String fresh = cookieHeader(h.engine.onRequest(route, HostileRequest.get().consumer("late")));
        assertNotEquals("", fresh);
        assertEquals("late", subject(h.engine.onRequest(route, HostileRequest.get().cookie(fresh))));
    }
}
