package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The deploy-pipeline workflow: {@code java -jar apisix-session-runner.jar migrate …} on its own,
 * then routes with {@code "migrate": false}.
 */
class PostgresMigrateCommandIT {

    private record Result(int exit, String out) {
    }

    private static Result migrate(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", System.getProperty("runnerJar"), "migrate"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        String pw = PostgresTestDatabase.get().password();
        if (pw != null) {
            pb.environment().put("PGPASSWORD", pw);
        } else {
            pb.environment().remove("PGPASSWORD");
        }
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "migrate finished");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void migrateCommandThenRoutesWithMigrateFalse() throws Exception {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        String database = pg.createDatabase("migrate_cmd");
        String url = pg.jdbcUrl(database);

        Result check = migrate("--jdbc-url", url, "--username", pg.user(), "--check");
        assertEquals(1, check.exit(), check.out());
        assertTrue(check.out().contains("pending"), check.out());

        Result done = migrate("--jdbc-url", url, "--username", pg.user());
        assertEquals(0, done.exit(), done.out());
        java.util.regex.Matcher to = java.util.regex.Pattern.compile("migrated from version none to (\\d+)").matcher(done.out());
        assertTrue(to.find(), done.out());
        assertFalse(done.out().contains("jdbc:postgresql"), "no JDBC URL in the output\n" + done.out());

        Result again = migrate("--jdbc-url", url, "--username", pg.user());
        assertEquals(0, again.exit(), again.out());
        assertTrue(again.out().contains("up to date at version " + to.group(1)), again.out());

        try (RunnerProcess runner = PostgresStorageIT.startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres",
                    "postgres", PostgresStorageIT.postgres(database, "migrate", false), "reject_status", 401));
            CookieJar jar = E2e.login(apisix, runner, "/pg/login");
            assertIdentity(apisix.send(withCookies("/pg/data", jar)), runner, "fiona");
        }
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void migrateFalseOnAnUnmigratedDatabaseRejectsTheConfNamingTheCommand() throws Exception {
        String database = PostgresTestDatabase.get().createDatabase("unmigrated");
        try (RunnerProcess runner = PostgresStorageIT.startRunner(); SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(E2e.apisixRoute("/pg/*", "storage", "postgres",
                    "postgres", PostgresStorageIT.postgres(database, "migrate", false), "reject_status", 401));
            Exchange ex = apisix.send(ClientRequest.get("/pg/login").apikey(E2e.FIONA_KEY));
            assertEquals(503, ex.status(), why(ex, runner));
            assertTrue(runner.awaitLog("apisix-session-runner.jar migrate", java.time.Duration.ofSeconds(5)), runner.logs());
        }
    }

    @Test
    void badUsageExitsTwo() throws Exception {
        Result r = migrate("--password", "hunter2", "--database", "x");
        assertEquals(2, r.exit(), r.out());
        assertFalse(r.out().contains("hunter2"), r.out());
        Result help = migrate("--help");
        assertEquals(0, help.exit(), help.out());
        assertTrue(help.out().contains("--jdbc-url"), help.out());
        assertTrue(Files.exists(Path.of(System.getProperty("runnerJar"))));
    }
}
