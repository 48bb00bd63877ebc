package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code java -jar apisix-session-runner.jar migrate …} as the runner calls it. */
@RequiresService(SharedPostgres.class)
class PostgresMigrateCommandTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(Map<String, String> env, String... args) {
        return PostgresMigrateCommand.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private static Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        String pw = PostgresTestDatabase.get().password();
        if (pw != null) {
            env.put("PGPASSWORD", pw);
        }
        return env;
    }

    @Test
    void migratesThenReportsUpToDateAndCheckAgrees() throws Exception {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        String db = pg.createDatabase("command");
        String url = pg.jdbcUrl(db);
        assertEquals(1, run(env(), "--jdbc-url", url, "--username", pg.user(), "--check"), err());
        assertTrue(out().contains(PgTest.SCRIPTS + " script(s) pending"), out() + err());

        assertEquals(0, run(env(), "--jdbc-url", url, "--username", pg.user(), "--schema", "gw", "--table-prefix", "t_"), err());
        // the gw schema is migrated; public is still empty
        assertTrue(out().contains(PgTest.migratedFromNothing("gw")), out() + err());
        assertEquals(1, PgTest.count(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'gw' AND table_name = 't_sessions'"));

        assertEquals(0, run(env(), "--host", pg.host(), "--port", String.valueOf(pg.port()), "--database", db,
                "--username=" + pg.user(), "--schema=gw", "--table-prefix=t_"), err());
        assertTrue(out().contains("schema gw is up to date at version " + PgTest.LATEST_VERSION), out());
        assertEquals(0, run(env(), "--jdbc-url", url, "--username", pg.user(), "--schema", "gw", "--table-prefix", "t_", "--check"), err());
    }

    @Test
    void passwordsAreNotTakenOnTheCommandLine() {
        assertEquals(2, run(Map.of(), "--database", "d", "--password", "hunter2"));
        assertTrue(err().contains("--password-env"), err());
        assertFalse(err().contains("hunter2"), err());
    }

    @Test
    void passwordEnvMustBeSet() {
        assertEquals(2, run(Map.of(), "--database", "d", "--password-env", "DB_PASSWORD"));
        assertTrue(err().contains("DB_PASSWORD is not set"), err());
    }

    @Test
    void usageErrors() {
        assertEquals(2, run(Map.of()));
        assertTrue(err().contains("give --jdbc-url or --database"), err());
        assertEquals(2, run(Map.of(), "--frobnicate", "x"));
        assertEquals(2, run(Map.of(), "--database", "d", "--schema", "Bad-Name"));
        assertTrue(err().contains("--schema: must be a lower-case identifier"), err());
        assertEquals(2, run(Map.of(), "--database"));
        assertEquals(0, run(Map.of(), "--help"));
        assertTrue(out().contains("usage: java -jar apisix-session-runner.jar migrate"), out());
    }

    @Test
    void anUnreachableDatabaseExitsOneWithoutShowingTheUrlsPassword() {
        String secret = "pw-in-url-7731";
        assertEquals(1, run(Map.of("PGPASSWORD", "other-secret-991"), "--jdbc-url",
                "jdbc:postgresql://127.0.0.1:1/db?password=" + secret, "--connect-timeout", "1"));
        assertTrue(err().contains("failed"), err());
        assertFalse((out() + err()).contains(secret), err());
        assertFalse((out() + err()).contains("other-secret-991"), err());
    }
}
