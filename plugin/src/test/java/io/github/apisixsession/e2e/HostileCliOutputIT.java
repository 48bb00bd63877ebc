package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner jar's other outputs: the {@code sessions} and {@code migrate} commands, a failed
 * start and {@code --help}. Each run gets secrets (route secret, fallback secret, Redis and
 * PostgreSQL passwords) that are unique markers, in the config file, in the environment and on
 * the command line, and makes the command fail on exactly the paths that would be tempted to
 * quote them. The combined stdout and stderr must never contain a marker, and each run must
 * really have failed (or answered) the way the case expects, so the paths ran.
 */
class HostileCliOutputIT {
    private static final String SECRET = "cli-route-secret-MARKER-5e1f0c2a9b7d3e48a6c1";
    private static final String FALLBACK = "cli-fallback-secret-MARKER-77aa0b3c9d2e1f40";
    private static final String REDIS_PASSWORD = "cli-redis-password-MARKER-0d9c8b7a";
    private static final String PG_PASSWORD = "cli-pg-password-MARKER-6f5e4d3c";
    private static final List<String> MARKERS = List.of(SECRET, FALLBACK, REDIS_PASSWORD, PG_PASSWORD);

    @TempDir
    static Path dir;

    private record Result(int exit, String out) {
    }

    @BeforeAll
    static void jar() {
        assertTrue(Files.isRegularFile(Path.of(System.getProperty("runnerJar", ""))), "runnerJar system property");
    }

    /** Every marker is in the environment too, so an output that dumped it would show it. */
    private static Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=trace", "-jar", System.getProperty("runnerJar")));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("APISIX_LISTEN_ADDRESS");
        pb.environment().put("SESSION_SECRET", SECRET);
        pb.environment().put("CLI_FALLBACK", FALLBACK);
        pb.environment().put("CLI_REDIS_PASSWORD", REDIS_PASSWORD);
        pb.environment().put("PGPASSWORD", PG_PASSWORD);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the command finished");
        Result r = new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        for (String marker : MARKERS) {
            assertFalse(r.out().contains(marker), "output quotes a secret (" + marker + "):\n" + r.out());
        }
        return r;
    }

    private static String routeFile(String name, Map<String, Object> conf) throws IOException {
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, E2e.json(conf));
        return f.toString();
    }

    private static Map<String, Object> redisRoute(Object password) {
        Map<String, Object> redis = new LinkedHashMap<>(Map.of("host", "127.0.0.1", "port", 6379,
                "prefix", "cli-hostile", "connect_timeout", 2000, "read_timeout", 2000));
        redis.put("password", password);
        Map<String, Object> conf = new LinkedHashMap<>();
        conf.put("secret", SECRET);
        conf.put("secret_fallbacks", List.of("$env://CLI_FALLBACK", FALLBACK));
        conf.put("storage", "redis");
        conf.put("store_metadata", true);
        conf.put("redis", redis);
        return conf;
    }

    @Test
    void sessionsCommandWithAWrongRedisPasswordNamesTheFailureNotThePassword() throws Exception {
        for (Object password : List.of("$env://CLI_REDIS_PASSWORD", REDIS_PASSWORD)) {
            Result r = run(Map.of(), "sessions", "list", "--subject", "alice",
                    "--config", routeFile("redis-wrong-password", redisRoute(password)));
            // the machine's Redis has no password, so AUTH fails; a missing Redis fails too
            assertEquals(1, r.exit(), r.out());
            assertTrue(r.out().contains("sessions: storage "), r.out());
        }
    }

    @Test
    void sessionsCommandWithABadConfigNamesTheFieldNotTheSecret() throws Exception {
        Map<String, Object> conf = redisRoute("$env://CLI_REDIS_PASSWORD");
        conf.put("cookie_same_site", SECRET);
        conf.put("rolling_timeout", FALLBACK);
        Result r = run(Map.of(), "sessions", "revoke", "--subject", "alice", "--config", routeFile("bad-field", conf));
        assertEquals(2, r.exit(), r.out());
        assertTrue(r.out().contains("cookie_same_site") || r.out().contains("rolling_timeout"), r.out());

        // JSON broken right after a secret: the parser's error must not quote the source
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"secret\": \"" + SECRET + "\", \"secret_fallbacks\": [\"" + FALLBACK + "\" \"x\"]");
        r = run(Map.of(), "sessions", "list", "--subject", "alice", "--config", broken.toString());
        assertEquals(2, r.exit(), r.out());
        assertTrue(r.out().contains("broken.json"), r.out());

        // a secret that is too short is refused without being quoted
        Map<String, Object> shortSecret = redisRoute("x");
        shortSecret.put("secret", SECRET.substring(0, 10));
        r = run(Map.of("CLI_SHORT", SECRET.substring(0, 10)), "sessions", "list", "--subject", "a",
                "--config", routeFile("short", shortSecret));
        assertNotEquals(0, r.exit(), r.out());
        assertFalse(r.out().contains(SECRET.substring(0, 10)), r.out());
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void migrateCommandFailuresQuoteNoPassword() throws Exception {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        // a wrong password for a user that needs one (trust auth lets it in: then it must not print it either)
        Result wrong = run(Map.of("PGPASSWORD", PG_PASSWORD), "migrate", "--host", pg.host(),
                "--port", Integer.toString(pg.port()), "--database", "no_such_database_cli", "--username",
                "no_such_user_cli", "--connect-timeout", "5");
        assertEquals(1, wrong.exit(), wrong.out());
        assertTrue(wrong.out().contains("failed:"), wrong.out());

        // the password in the JDBC URL, with a malformed port and with an unreachable one
        for (String url : List.of("jdbc:postgresql://127.0.0.1:notaport/db?password=" + PG_PASSWORD,
                "jdbc:postgresql://127.0.0.1:1/db?user=x&password=" + PG_PASSWORD)) {
            Result r = run(Map.of(), "migrate", "--jdbc-url", url, "--connect-timeout", "2");
            assertNotEquals(0, r.exit(), r.out());
            assertTrue(r.out().contains("migrate: "), r.out());
        }

        // on the command line it is refused without an echo, in both spellings
        Result flag = run(Map.of(), "migrate", "--database", "x", "--password", PG_PASSWORD);
        assertEquals(2, flag.exit(), flag.out());
        Result inline = run(Map.of(), "migrate", "--database", "x", "--password=" + PG_PASSWORD);
        assertEquals(2, inline.exit(), inline.out());
        assertTrue(inline.out().contains("--password is not accepted"), inline.out());

        // an unknown option whose value is the password is named, its value not quoted
        Result unknown = run(Map.of(), "migrate", "--database", "x", "--passwd=" + PG_PASSWORD);
        assertEquals(2, unknown.exit(), unknown.out());
        assertTrue(unknown.out().contains("--passwd"), unknown.out());
    }

    @Test
    void failedStartsAndHelpQuoteNoSecret() throws Exception {
        // the settings are not secrets (the error quotes them, for the operator); the secrets in the
        // environment must still not show
        Result badAddress = run(Map.of("APISIX_LISTEN_ADDRESS", "tcp://127.0.0.1:9999"));
        assertEquals(2, badAddress.exit(), badAddress.out());
        assertTrue(badAddress.out().contains("APISIX_LISTEN_ADDRESS"), badAddress.out());

        Map<String, String> env = new HashMap<>();
        env.put("APISIX_LISTEN_ADDRESS", "unix:" + dir.resolve("no-such-dir").resolve("runner.sock"));
        env.put("SESSION_RUNNER_CONF_CAPACITY", "lots");
        Result badCapacity = run(env);
        assertEquals(2, badCapacity.exit(), badCapacity.out());

        env.put("SESSION_RUNNER_CONF_CAPACITY", "10");
        Result noDirectory = run(env);
        assertNotEquals(0, noDirectory.exit(), noDirectory.out());

        for (String[] help : List.of(new String[] {"--help"}, new String[] {"sessions", "--help"},
                new String[] {"migrate", "--help"}, new String[] {"no-such-command", SECRET})) {
            Result r = run(Map.of(), help);
            assertTrue(r.out().contains("usage:"), r.out());
        }
    }
}
