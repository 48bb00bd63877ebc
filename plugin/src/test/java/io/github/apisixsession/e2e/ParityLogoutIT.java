package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logout options LogoutIT does not cover ({@code logout_methods}, {@code logout_query_arg},
 * {@code logout_post_arg} with JSON bodies) and our {@code logout_all_query_arg} (log out
 * everywhere) on each server-side storage.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@RequiresService({SharedRedis.class, SharedPostgres.class})
class ParityLogoutIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    /**
     * Server-side storages for "log out everywhere": a name (the route prefix) and the conf fields
     * selecting the storage. Engineers adding a storage add its line here (and whatever the runner
     * needs to reach it in {@link #start}).
     */
    static Stream<StorageCase> storages() {
        return Stream.of(
                new StorageCase("memory", Map.of("storage", "memory")),
                new StorageCase("memory-hashed", Map.of("storage", "memory", "hash_subject", true,
                        "hash_storage_key", true)),
                // the other devices' remember cookies must not bring their sessions back
                new StorageCase("memory-remember", Map.of("storage", "memory", "remember", true)),
                new StorageCase("redis", Map.of("storage", "redis", "redis", Map.of("host", SharedRedis.HOST,
                        "port", SharedRedis.PORT, "prefix", REDIS_PREFIX))),
                new StorageCase("postgres", Map.of("storage", "postgres", "postgres",
                        PostgresStorageIT.postgres(postgresDatabase()))));
    }

    private static final String REDIS_PREFIX = "parity-logout-" + java.util.UUID.randomUUID();
    private static String postgresDatabase;

    /** One fresh database for this class's postgres routes. */
    private static synchronized String postgresDatabase() {
        if (postgresDatabase == null) {
            try {
                postgresDatabase = io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase.get()
                        .createDatabase("parity");
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("PostgreSQL is needed for the postgres case: " + e.getMessage(), e);
            }
        }
        return postgresDatabase;
    }

    record StorageCase(String name, Map<String, Object> conf) {
        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    void start() {
        runner = PostgresStorageIT.startRunner();
        apisix = E2e.gatewayWithGeorge(runner)
                .route(E2e.apisixRoute("/get-logout/*", "logout_methods", List.of("GET"), "reject_status", 401))
                .route(E2e.apisixRoute("/bye/*", "logout_query_arg", "bye", "reject_status", 401))
                .route(E2e.apisixRoute("/signout/*", "logout_post_arg", "signout", "read_body_for_logout", true,
                        "reject_status", 401))
                .route(E2e.apisixRoute("/signout-unread/*", "logout_post_arg", "signout", "reject_status", 401));
        storages().forEach(s -> {
            List<Object> kv = new ArrayList<>();
            s.conf().forEach((k, v) -> {
                kv.add(k);
                kv.add(v);
            });
            kv.addAll(List.of("store_metadata", true, "logout_all_query_arg", "logout_all", "reject_status", 401));
            apisix.route(E2e.apisixRoute("/all-" + s.name() + "/*", kv.toArray()));
        });
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    private CookieJar login(String base, String key) {
        Exchange ex = apisix.send(ClientRequest.get(base + "/login").apikey(key));
        assertEquals(200, ex.status(), why(ex, runner));
        assertNotNull(E2e.sessionSetCookie(ex), why(ex, runner));
        return new CookieJar().update(ex.response());
    }

    private void assertLoggedOut(Exchange ex) {
        assertEquals(200, ex.status(), why(ex, runner));
        assertFalse(ex.upstreamCalled(), "logout is answered by the runner\n" + why(ex, runner));
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertNotNull(sc, why(ex, runner));
        assertTrue(sc.deletes(), sc.toString());
    }

    private void assertNotLoggedOut(Exchange ex, String base, CookieJar jar) {
        E2e.assertOk(ex, runner, "fiona");
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertTrue(sc == null || !sc.deletes(), why(ex, runner));
        E2e.assertOk(apisix.send(withCookies(base + "/data", jar)), runner, "fiona");
    }

    private void assertDead(String base, String oldCookie) {
        Exchange replay = apisix.send(ClientRequest.get(base + "/data").cookie(oldCookie));
        assertEquals(401, replay.status(), "the old cookie is refused\n" + why(replay, runner));
    }

    @Test
    void logoutMethodsGetMakesGetALogoutAndPostNot() {
        CookieJar jar = E2e.login(apisix, runner, "/get-logout/login");
        assertNotLoggedOut(apisix.send(ClientRequest.post("/get-logout/x?session_logout").cookies(jar)),
                "/get-logout", jar);
        assertNotLoggedOut(apisix.send(ClientRequest.delete("/get-logout/x?session_logout").cookies(jar)),
                "/get-logout", jar);
        String old = jar.cookieHeader();
        assertLoggedOut(apisix.send(withCookies("/get-logout/x?session_logout", jar)));
        assertDead("/get-logout", old);
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void logoutQueryArgRenamesTheArgument() {
        CookieJar jar = E2e.login(apisix, runner, "/bye/login");
        assertNotLoggedOut(apisix.send(ClientRequest.post("/bye/x?session_logout").cookies(jar)), "/bye", jar);
        String old = jar.cookieHeader();
        assertLoggedOut(apisix.send(ClientRequest.post("/bye/x?bye=1").cookies(jar)));
        assertDead("/bye", old);
    }

    @Test
    void logoutPostArgInAFormBody() {
        CookieJar jar = E2e.login(apisix, runner, "/signout/login");
        assertNotLoggedOut(apisix.send(ClientRequest.post("/signout/x").cookies(jar).form("session_logout=1")),
                "/signout", jar);
        String old = jar.cookieHeader();
        Exchange ex = apisix.send(ClientRequest.post("/signout/x").cookies(jar).form("a=b&signout=yes"));
        assertLoggedOut(ex);
        assertTrue(ex.transcriptContains("ExtraInfo ReqBody"), ex.transcriptText());
        assertDead("/signout", old);
    }

    @Test
    void logoutPostArgInAJsonBody() {
        CookieJar jar = E2e.login(apisix, runner, "/signout/login");
        assertNotLoggedOut(apisix.send(ClientRequest.post("/signout/x").cookies(jar)
                .setHeader("Content-Type", "application/json").body("{\"signout\":false}")), "/signout", jar);
        String old = jar.cookieHeader();
        assertLoggedOut(apisix.send(ClientRequest.post("/signout/x").cookies(jar)
                .setHeader("Content-Type", "application/json").body("{\"signout\":true}")));
        assertDead("/signout", old);
        E2e.assertNoRunnerErrors(runner);
    }

    @Test
    void logoutPostArgIsIgnoredWithoutReadBodyForLogout() {
        CookieJar jar = E2e.login(apisix, runner, "/signout-unread/login");
        Exchange ex = apisix.send(ClientRequest.post("/signout-unread/x").cookies(jar).form("signout=1"));
        assertNotLoggedOut(ex, "/signout-unread", jar);
        assertFalse(ex.transcriptContains("ExtraInfo ReqBody"), ex.transcriptText());
        assertLoggedOut(apisix.send(ClientRequest.post("/signout-unread/x?session_logout").cookies(jar)));
    }

    @ParameterizedTest
    @MethodSource("storages")
    void logoutEverywhereEndsEverySessionOfTheSubject(StorageCase storage) {
        String base = "/all-" + storage.name();
        CookieJar laptop = login(base, E2e.FIONA_KEY);
        CookieJar phone = login(base, E2e.FIONA_KEY);
        CookieJar george = login(base, E2e.GEORGE_KEY);
        assertNotEquals(laptop.get("session"), phone.get("session"));
        E2e.assertOk(apisix.send(withCookies(base + "/data", laptop)), runner, "fiona");
        E2e.assertOk(apisix.send(withCookies(base + "/data", phone)), runner, "fiona");
        E2e.assertOk(apisix.send(withCookies(base + "/data", george)), runner, "george");
        String laptopCookie = laptop.cookieHeader();

        assertLoggedOut(apisix.send(ClientRequest.post(base + "/x?logout_all").cookies(laptop)));
        assertDead(base, laptopCookie);
        assertDead(base, phone.cookieHeader());
        E2e.assertOk(apisix.send(withCookies(base + "/data", george)), runner, "george");
        assertTrue(runner.logs().contains("logout everywhere"), runner.logs());
        E2e.assertNoRunnerErrors(runner);
    }

    @ParameterizedTest
    @MethodSource("storages")
    void aPlainLogoutEndsOnlyThatSession(StorageCase storage) {
        String base = "/all-" + storage.name();
        CookieJar laptop = login(base, E2e.FIONA_KEY);
        CookieJar phone = login(base, E2e.FIONA_KEY);
        String laptopCookie = laptop.cookieHeader();
        assertLoggedOut(apisix.send(ClientRequest.post(base + "/x?session_logout").cookies(laptop)));
        assertDead(base, laptopCookie);
        E2e.assertOk(apisix.send(withCookies(base + "/data", phone)), runner, "fiona");
    }
}
