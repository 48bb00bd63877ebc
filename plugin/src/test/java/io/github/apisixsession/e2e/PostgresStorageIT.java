package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code "storage": "postgres"} through the runner process: sessions in the database, shared by
 * two runners, kept across a restart, renewed with stale_ttl, deleted at logout. Each test has a
 * fresh database. The static helpers serve the other Postgres*IT classes.
 */
@RequiresService(SharedPostgres.class)
class PostgresStorageIT {

    static final String PASSWORD_VARIABLE = "SESSION_TEST_PG_PASSWORD";

    private String database;

    @BeforeEach
    void freshDatabase() throws SQLException {
        database = PostgresTestDatabase.get().createDatabase("e2e");
    }

    /** The route's postgres object for {@code database} on {@code host:port} (the server or a proxy). */
    static Map<String, Object> postgresAt(String host, int port, String database, Object... kv) {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", host);
        m.put("port", port);
        m.put("database", database);
        m.put("username", pg.user());
        if (pg.password() != null) {
            m.put("password", "$env://" + PASSWORD_VARIABLE);
        }
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static Map<String, Object> postgres(String database, Object... kv) {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        return postgresAt(pg.host(), pg.port(), database, kv);
    }

    /** A runner that can read the test database's password, if it has one. */
    static RunnerProcess startRunner() {
        return E2e.start(runner());
    }

    /** {@link E2e#runner()} with the test database's password in {@code PASSWORD_VARIABLE}. */
    static RunnerProcess.Builder runner() {
        RunnerProcess.Builder b = E2e.runner();
        String pw = PostgresTestDatabase.get().password();
        if (pw != null) {
            b.env(PASSWORD_VARIABLE, pw);
        }
        return b;
    }

    static long count(String database, String sql, Object... args) throws SQLException {
        try (Connection c = PostgresTestDatabase.get().connection(database); PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static void update(String database, String sql) throws SQLException {
        try (Connection c = PostgresTestDatabase.get().connection(database); PreparedStatement st = c.prepareStatement(sql)) {
            st.executeUpdate();
        }
    }

    static long sessionRows(String database) throws SQLException {
        return count(database, "SELECT count(*) FROM public.apisix_sessions WHERE expires_at > now()");
    }

    @Test
    void sessionsLiveInPostgresAndSurviveARunnerRestart() throws Exception {
        try (RunnerProcess runner = startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", postgres(database),
                    "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/pg/login");
            assertTrue(jar.get("session").length() < 200, "the cookie carries only the signed header, not the session");
            assertEquals(1, sessionRows(database), "one row per session");
            assertEquals(1, count(database, "SELECT count(*) FROM public.apisix_sessions WHERE key LIKE 'session:%' "
                    + "AND convert_from(data, 'UTF8') LIKE '[\"%\"]'"), "engine key and lua-resty-session value shape");
            assertIdentity(apisix.send(withCookies("/pg/data", jar)), runner, "fiona");

            runner.kill();
            runner.start();
            Exchange after = apisix.send(withCookies("/pg/data", jar));
            assertEquals(200, after.status(), "a new runner reads the session from the database\n" + why(after, runner));
            assertIdentity(after, runner, "fiona");
        }
    }

    @Test
    void twoRunnersShareSessionsAndLogout() throws Exception {
        try (RunnerProcess a = startRunner(); RunnerProcess b = startRunner();
             SimulatedApisix gwA = E2e.gateway(a); SimulatedApisix gwB = E2e.gateway(b)) {
            Map<String, Object> pg = postgres(database);
            gwA.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", pg, "reject_status", 401));
            gwB.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", pg, "reject_status", 401));

            CookieJar jar = E2e.login(gwA, a, "/pg/login");
            assertIdentity(gwB.send(withCookies("/pg/data", jar)), b, "fiona");

            Exchange logout = gwB.send(ClientRequest.post("/pg/x?session_logout").cookies(jar));
            assertEquals(200, logout.status(), why(logout, b));
            assertEquals(0, count(database, "SELECT count(*) FROM public.apisix_sessions"), "logout deletes the row");
            Exchange onA = gwA.send(withCookies("/pg/data", jar));
            assertEquals(401, onA.status(), "logged out on B means logged out on A\n" + why(onA, a));
        }
    }

    @Test
    void renewalWritesANewRowAndShortensTheOldOneToStaleTtl() throws Exception {
        try (ClockFile clock = ClockFile.create(); RunnerProcess runner = E2e.start(runner().clock(clock));
             SimulatedApisix apisix = E2e.gateway(runner)) {
            // renewal past 75% of rolling_timeout (6 s of 8, in whole seconds); with stale_ttl 0 the
            // old row ends at once, which shows the shortening (its own ttl, in the database's real
            // time, still has about 8 s left: the runner's clock moved, the database's did not)
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", postgres(database),
                    "reject_status", 401, "rolling_timeout", 8, "stale_ttl", 0, "touch_threshold", 0));
            long second = E2e.midSecond(clock);
            CookieJar old = E2e.login(apisix, runner, "/pg/login");
            CookieJar keep = new CookieJar().put("session", old.get("session"));
            E2e.at(clock, second + 7);
            Exchange renewed = apisix.send(withCookies("/pg/data", old));
            assertIdentity(renewed, runner, "fiona");
            SetCookie sc = E2e.sessionSetCookie(renewed);
            assertNotNull(sc, "renewal issues a new cookie\n" + why(renewed, runner));
            assertNotEquals(keep.get("session"), sc.value());

            assertEquals(2, count(database, "SELECT count(*) FROM public.apisix_sessions"),
                    "the renewed session's row and its successor's");
            assertEquals(1, sessionRows(database),
                    "the renewed row ended (stale_ttl 0) though its own ttl had seconds left");
            Exchange stale = apisix.send(withCookies("/pg/data", keep));
            assertEquals(401, stale.status(), "the old cookie is past its stale_ttl\n" + why(stale, runner));
            CookieJar fresh = new CookieJar().update(renewed.response());
            assertIdentity(apisix.send(withCookies("/pg/data", fresh)), runner, "fiona");
        }
    }
}
