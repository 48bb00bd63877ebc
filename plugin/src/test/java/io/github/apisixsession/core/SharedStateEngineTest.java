package io.github.apisixsession.core;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.core.state.SharedStateLink;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code shared_state} (issue 13) with two engines ("runners") sharing one in-process store and a
 * test clock: what one runner revokes, marks or counts, the other honours.
 */
class SharedStateEngineTest {

    static final String SECRET = "shared-state-test-secret-0123456789";

    final TestClock clock = new TestClock(1_700_000_000L);
    final InProcessSharedState store = new InProcessSharedState(clock);
    final SessionEngine runner1 = engine();
    final SessionEngine runner2 = engine();

    SessionEngine engine() {
        List<SessionStorageProvider> providers = new ArrayList<>();
        ServiceLoader.load(SessionStorageProvider.class).forEach(providers::add);
        providers.add(new InProcessSharedState.Provider(store));
        return new SessionEngine(clock, new SessionStorages(providers, new StorageContext(clock, Map.<String, String>of()::get)));
    }

    @AfterEach
    void close() {
        runner1.close();
        runner2.close();
    }

    static SessionRoute route(SessionEngine engine, String extra) throws ConfigException {
        String json = "{\"secret\":\"" + SECRET + "\",\"cookie_secure\":false,\"reject_status\":401"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
        return engine.prepare(new SessionConfigParser(k -> null, engine.storages().names(), "p").parse(json));
    }

    static final String COOKIE_SHARED = "\"shared_state\":{\"storage\":\"shared\"}";

    static String login(SessionEngine engine, SessionRoute route, String consumer) throws Exception {
        RequestDecision.Proceed p = assertInstanceOf(RequestDecision.Proceed.class,
                engine.onRequest(route, TestRequest.get("/").consumer(consumer)));
        String sc = EngineTestBase.setCookies(p.responseHeaders()).get(0);
        return sc.substring(0, sc.indexOf(';'));
    }

    /** The status a request with {@code cookie} gets: 0 when it proceeds with a session. */
    static int status(SessionEngine engine, SessionRoute route, String cookie) throws Exception {
        RequestDecision d = engine.onRequest(route, TestRequest.get("/").cookie(cookie));
        return d instanceof RequestDecision.Respond r ? r.status() : 0;
    }

    static int logout(SessionEngine engine, SessionRoute route, String query, String cookie) throws Exception {
        return ((RequestDecision.Respond) engine.onRequest(route, new TestRequest("POST", "/?" + query).cookie(cookie)))
                .status();
    }

    static SharedStateLink link(SessionRoute route) {
        return assertInstanceOf(SharedStateLink.class, route.revocations().current());
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void aCookieLoggedOutOnOneRunnerIsRefusedOnTheOther() throws Exception {
        SessionRoute r1 = route(runner1, COOKIE_SHARED);
        SessionRoute r2 = route(runner2, COOKIE_SHARED);
        assertTrue(link(r1).loaded() && link(r2).loaded(), "the copy is loaded before the route serves");
        String cookie = login(runner1, r1, "alice");
        assertEquals(0, status(runner2, r2, cookie));
        assertEquals(200, logout(runner1, r1, "session_logout", cookie));
        assertEquals(401, status(runner2, r2, cookie), "the copied cookie is refused on the other runner");
        assertEquals(401, status(runner1, r1, cookie));
        assertEquals(2, store.revocations.size(), "the id and its family");
    }

    @Test
    void aRunnerStartedLaterLoadsTheRevocationsBeforeServing() throws Exception {
        SessionRoute r1 = route(runner1, COOKIE_SHARED);
        String cookie = login(runner1, r1, "alice");
        logout(runner1, r1, "session_logout", cookie);
        try (SessionEngine late = engine()) {
            SessionRoute r3 = route(late, COOKIE_SHARED);
            assertEquals(401, status(late, r3, cookie));
        }
    }

    @Test
    void logoutEverywhereRefusesOlderSessionsOfTheSubjectOnEveryRunnerButNotNewerLogins() throws Exception {
        String conf = COOKIE_SHARED + ",\"logout_all_query_arg\":\"session_logout_all\",\"hash_subject\":true";
        SessionRoute r1 = route(runner1, conf);
        SessionRoute r2 = route(runner2, conf);
        String laptop = login(runner1, r1, "alice");
        String phone = login(runner2, r2, "alice");
        String bob = login(runner2, r2, "bob");
        clock.advance(5);
        assertEquals(200, logout(runner1, r1, "session_logout_all", laptop));
        assertEquals(401, status(runner2, r2, phone), "the other device, on the other runner");
        assertEquals(401, status(runner1, r1, phone));
        assertEquals(0, status(runner2, r2, bob), "other subjects untouched");
        clock.advance(1);
        String again = login(runner2, r2, "alice");
        assertEquals(0, status(runner1, r1, again), "a login after the marker is valid");
        assertEquals(1, store.markers.size());
        assertFalse(store.markers.keySet().iterator().next().contains("alice"), "hash_subject: no subject in clear");
    }

    @Test
    void withoutAStoreLogoutEverywhereOnCookieStorageHoldsOnThisRunnerOnly() throws Exception {
        String conf = "\"logout_all_query_arg\":\"session_logout_all\"";
        SessionRoute r1 = route(runner1, conf);
        SessionRoute r2 = route(runner2, conf);
        assertFalse(r1.revocations().current().shared());
        String laptop = login(runner1, r1, "alice");
        String phone = login(runner1, r1, "alice");
        clock.advance(1);
        assertEquals(200, logout(runner1, r1, "session_logout_all", laptop));
        assertEquals(401, status(runner1, r1, phone), "a process-local marker");
        assertEquals(0, status(runner2, r2, phone), "another runner knows nothing of it");
        assertTrue(store.markers.isEmpty());
    }

    @Test
    void adminRevokesASubjectAndAWholeAudienceOnCookieStorage() throws Exception {
        SessionRoute r1 = route(runner1, COOKIE_SHARED);
        SessionRoute r2 = route(runner2, COOKIE_SHARED);
        String alice = login(runner1, r1, "alice");
        String bob = login(runner1, r1, "bob");
        clock.advance(1);
        assertEquals(0, runner2.revokeSessionsOf(r2, "alice"));
        assertEquals(401, status(runner1, r1, alice));
        assertEquals(0, status(runner1, r1, bob));
        runner2.revokeAudience(r2);
        assertEquals(401, status(runner1, r1, bob), "audience-wide marker");
        SessionRoute other = route(runner1, COOKIE_SHARED + ",\"audience\":\"other\"");
        clock.advance(1);
        String carol = login(runner1, other, "carol");
        assertEquals(0, status(runner1, other, carol), "another audience is untouched");
    }

    @Test
    void failuresAreCountedAcrossRunners() throws Exception {
        String conf = COOKIE_SHARED + ",\"failure_limit\":3";
        SessionRoute r1 = route(runner1, conf);
        SessionRoute r2 = route(runner2, conf);
        String cookie = login(runner1, r1, "alice");
        String token = cookie.substring("session=".length());
        assertFalse(destroyed(runner1.onResponse(r1, failed(token))));
        assertFalse(destroyed(runner2.onResponse(r2, failed(token))));
        assertTrue(destroyed(runner1.onResponse(r1, failed(token))), "the third failure, wherever it happens");
        assertEquals(401, status(runner2, r2, cookie));
        assertTrue(store.counters.isEmpty(), "the counter is reset once the limit destroyed the session");
    }

    @Test
    void aServerSideStorageOfferingSharedStateIsUsedByDefaultAndFalseOptsOut() throws Exception {
        SessionRoute byDefault = route(runner1, "\"storage\":\"shared\"");
        assertTrue(byDefault.revocations().current().shared());
        assertTrue(byDefault.revocations().failOpen(), "a route that configured nothing answers as before");
        assertFalse(route(runner1, "\"storage\":\"shared\",\"shared_state\":true").revocations().failOpen());
        SessionRoute off = route(runner1, "\"storage\":\"shared\",\"shared_state\":false");
        assertFalse(off.revocations().current().shared());
        SessionRoute memory = route(runner1, "\"storage\":\"memory\"");
        assertFalse(memory.revocations().current().shared(), "memory offers no shared state");
        SessionRoute r2 = route(runner2, "\"storage\":\"shared\"");
        String cookie = login(runner1, byDefault, "alice");
        logout(runner1, byDefault, "session_logout", cookie);
        assertEquals(401, status(runner2, r2, cookie));
        assertTrue(store.revocations.size() >= 1, "server-side logouts are revoked in the store too");
    }

    @Test
    void failClosedAnswersStorageErrorOnceTheFeedIsLostBeyondTheGrace() throws Exception {
        SessionRoute r1 = route(runner1, COOKIE_SHARED);
        String cookie = login(runner1, r1, "alice");
        store.down(true);
        assertEquals(0, status(runner1, r1, cookie), "within the grace the copy is believed");
        clock.advance(SharedStateLink.DISCONNECT_GRACE.toSeconds() + 1);
        assertEquals(503, status(runner1, r1, cookie));
        store.down(false);
        await("resynchronized", () -> link(r1).connected());
        assertEquals(0, status(runner1, r1, cookie), "recovered without a restart");
    }

    @Test
    void failOpenKeepsCheckingTheLastCopyAndQueuedWritesAreFlushedOnRecovery() throws Exception {
        String conf = "\"shared_state\":{\"storage\":\"shared\",\"on_failure\":\"open\"}";
        SessionRoute r1 = route(runner1, conf);
        SessionRoute r2 = route(runner2, conf);
        String revokedBefore = login(runner1, r1, "alice");
        logout(runner1, r1, "session_logout", revokedBefore);
        String cookie = login(runner1, r1, "bob");
        store.down(true);
        clock.advance(SharedStateLink.DISCONNECT_GRACE.toSeconds() + 1);
        assertEquals(401, status(runner2, r2, revokedBefore), "the last copy still refuses");
        assertEquals(0, status(runner2, r2, cookie), "served while the store is down");
        assertEquals(200, logout(runner1, r1, "session_logout", cookie), "a logout while down is queued");
        assertEquals(2, link(r1).queued());
        assertEquals(401, status(runner1, r1, cookie), "applied to this runner's copy at once");
        assertEquals(0, status(runner2, r2, cookie), "not yet on the other runner");
        store.down(false);
        awaitFlushedAndSeen(r1, r2, cookie);
    }

    /**
     * A logout on a fail-closed route while the store is down, within the grace or past it (when
     * the session itself is no longer served): answered 503 (the other runners do not know yet)
     * with the client's cookie ended, the id and its family queued even though the first write was
     * refused; once the store is back, runner 2 refuses the cookie.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aLogoutWhileTheStoreIsDownIsMadeQueuedAndEndsTheClientsCookie(boolean pastTheGrace) throws Exception {
        SessionRoute r1 = route(runner1, COOKIE_SHARED);
        SessionRoute r2 = route(runner2, COOKIE_SHARED);
        String cookie = login(runner1, r1, "alice");
        store.down(true);
        if (pastTheGrace) {
            clock.advance(SharedStateLink.DISCONNECT_GRACE.toSeconds() + 1);
            assertEquals(503, status(runner1, r1, cookie), "fail closed: the session is not served");
        }
        RequestDecision.Respond out = assertInstanceOf(RequestDecision.Respond.class,
                runner1.onRequest(r1, new TestRequest("POST", "/?session_logout").cookie(cookie)));
        assertEquals(503, out.status());
        List<String> expired = EngineTestBase.setCookies(out.headers());
        assertTrue(expired.stream().anyMatch(c -> c.startsWith("session=;") && c.contains("Max-Age=0")),
                "the client's cookie is ended all the same: " + expired);
        assertEquals(2, link(r1).queued(), "the id and its family");
        store.down(false);
        awaitFlushedAndSeen(r1, r2, cookie);
    }

    /** The store is back: runner 1's queued revocation reaches it, and runner 2 refuses {@code cookie}. */
    private void awaitFlushedAndSeen(SessionRoute r1, SessionRoute r2, String cookie) throws InterruptedException {
        await("flushed", () -> link(r1).queued() == 0);
        await("seen by the other runner", () -> {
            try {
                return status(runner2, r2, cookie) == 401;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void badSharedStateConfigsNameTheField() {
        assertField("shared_state", "\"shared_state\":\"redis\"");
        assertField("shared_state", "\"shared_state\":true");
        assertField("shared_state.storage", "\"shared_state\":{\"storage\":\"nope\"}");
        assertField("shared_state.storage", "\"shared_state\":{\"storage\":\"cookie\"}");
        assertField("shared_state.storage", "\"shared_state\":{\"on_failure\":\"open\"}");
        assertField("shared_state.on_failure", "\"shared_state\":{\"storage\":\"shared\",\"on_failure\":\"maybe\"}");
        assertField("shared_state.memory", "\"shared_state\":{\"storage\":\"shared\",\"memory\":{}}");
        assertField("shared_state.storage", "\"shared_state\":{\"storage\":\"memory\"}");
        assertField("shared_state.shared.port", "\"shared_state\":{\"storage\":\"shared\",\"shared\":{\"port\":1}}");
    }

    private void assertField(String field, String conf) {
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> route(runner1, conf), conf);
        assertEquals(field, e.field(), e.getMessage());
    }

    private static boolean destroyed(ResponseDecision d) {
        return EngineTestBase.setCookies(d.headers()).stream().anyMatch(c -> c.contains("Max-Age=0"));
    }

    private static ResponseView failed(String token) {
        return new ResponseView() {
            public int status() {
                return 502;
            }

            public List<HttpHeader> headers() {
                return List.of();
            }

            public String variable(String name) {
                return "cookie_session".equals(name) ? token : "";
            }
        };
    }
}
