package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Flyway over migrations/: from an empty database, re-runs, custom names, races, migrate: false. */
@RequiresService(SharedPostgres.class)
class PostgresMigrationsTest {

    /** The scripts in migrations/ and the version they end at. */

    private String database;

    @BeforeEach
    void freshDatabase() throws Exception {
        database = PostgresTestDatabase.get().createDatabase("migrations");
    }

    private PostgresMigrations.Outcome migrate(PostgresSettings s) {
        try (HikariDataSource ds = PostgresConnections.pool(s)) {
            return PostgresMigrations.migrate(ds, s);
        }
    }

    private Set<String> tables(String schema) throws Exception {
        return new TreeSet<>(PgTest.strings(database,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", schema));
    }

    private Set<String> indexes(String schema) throws Exception {
        return new TreeSet<>(PgTest.strings(database, "SELECT indexname FROM pg_indexes WHERE schemaname = ?", schema));
    }

    @Test
    void fromAnEmptyDatabaseCreatesTablesIndexesAndHistory() throws Exception {
        PostgresMigrations.Outcome first = migrate(PgTest.settings(database));
        assertEquals(PgTest.SCRIPTS, first.applied());
        assertEquals(PgTest.LATEST_VERSION, first.toVersion());
        assertEquals(Set.of("apisix_sessions", "apisix_session_metadata", "apisix_session_schema_history",
                "apisix_revocations", "apisix_subject_markers", "apisix_counters"), tables("public"));
        assertTrue(indexes("public").containsAll(Set.of("apisix_sessions_pkey", "apisix_sessions_expires_at_idx",
                "apisix_session_metadata_pkey", "apisix_session_metadata_key_idx", "apisix_revocations_until_idx",
                "apisix_subject_markers_until_idx", "apisix_counters_expires_at_idx")), indexes("public").toString());
        assertEquals(List.of("timestamp with time zone", "timestamp with time zone"), PgTest.strings(database,
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'apisix_sessions' "
                        + "AND column_name IN ('expires_at', 'created_at')"));
        assertEquals(List.of("CASCADE"), PgTest.strings(database,
                "SELECT delete_rule FROM information_schema.referential_constraints "
                        + "WHERE constraint_name = 'apisix_session_metadata_key_fkey'"));
        assertEquals(List.of("apisix_sessions_notify"), PgTest.strings(database,
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.apisix_sessions'::regclass AND NOT tgisinternal"));
    }

    /** V2 run again by hand over a migrated schema (an operator, another tool) changes nothing. */
    @Test
    void theNotifyScriptCanRunAgain() throws Exception {
        migrate(PgTest.settings(database).withSchema("edge", "gw2_"));
        String script;
        try (java.io.InputStream in = PostgresMigrations.class.getClassLoader()
                .getResourceAsStream("io/github/apisixsession/storage/postgres/migrations/V2__notify.sql")) {
            script = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .replace("${schema}", "edge").replace("${table_prefix}", "gw2_");
        }
        PgTest.update(database, script);
        PgTest.update(database, script);
        assertEquals(List.of("gw2_sessions_notify"), PgTest.strings(database,
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'edge.gw2_sessions'::regclass AND NOT tgisinternal"));
    }

    @Test
    void reRunningAppliesNothing() throws Exception {
        migrate(PgTest.settings(database));
        PostgresMigrations.Outcome again = migrate(PgTest.settings(database));
        assertEquals(0, again.applied());
        assertEquals(PgTest.LATEST_VERSION, again.toVersion());
        assertTrue(again.toString().contains("up to date"), again.toString());
        assertEquals(1, PgTest.count(database,
                "SELECT count(*) FROM public.apisix_session_schema_history WHERE success AND version = '1'"));
    }

    @Test
    void schemaAndPrefixAreConfigurableAndCoexist() throws Exception {
        migrate(PgTest.settings(database));
        PostgresMigrations.Outcome other = migrate(PgTest.settings(database).withSchema("edge", "gw2_"));
        assertEquals(PgTest.SCRIPTS, other.applied());
        assertEquals(Set.of("gw2_sessions", "gw2_session_metadata", "gw2_session_schema_history", "gw2_revocations",
                "gw2_subject_markers", "gw2_counters"), tables("edge"));
        // a second prefix in the same schema is a separate set of tables with its own history
        migrate(PgTest.settings(database).withSchema("public", "tenant_b_"));
        assertTrue(tables("public").containsAll(Set.of("apisix_sessions", "tenant_b_sessions",
                "tenant_b_session_schema_history")), tables("public").toString());
    }

    @Test
    void aSchemaWithOtherTablesIsBaselinedAndStillMigrated() throws Exception {
        PgTest.update(database, "CREATE TABLE public.application_users (id int PRIMARY KEY)");
        PostgresMigrations.Outcome o = migrate(PgTest.settings(database));
        assertEquals(PgTest.SCRIPTS, o.applied());
        assertTrue(tables("public").containsAll(Set.of("application_users", "apisix_sessions")));
    }

    @Test
    void existingTablesWithoutHistoryAreKept() throws Exception {
        // an operator ran the script by hand (or with another tool) before: IF NOT EXISTS keeps it working
        PgTest.update(database, "CREATE TABLE public.apisix_sessions (key varchar(512) PRIMARY KEY, data bytea NOT NULL, "
                + "expires_at timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
        PgTest.update(database, "INSERT INTO public.apisix_sessions (key, data, expires_at) VALUES ('k', '\\x01', now() + interval '1 hour')");
        PostgresMigrations.Outcome o = migrate(PgTest.settings(database));
        assertEquals(PgTest.SCRIPTS, o.applied());
        assertEquals(1, PgTest.count(database, "SELECT count(*) FROM public.apisix_sessions"));
    }

    @Test
    void concurrentMigrationsFromSeveralRunnersAllSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<PostgresMigrations.Outcome>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                results.add(pool.submit(() -> migrate(PgTest.settings(database))));
            }
            int applied = 0;
            for (Future<PostgresMigrations.Outcome> f : results) {
                applied += f.get(60, TimeUnit.SECONDS).applied();
            }
            assertEquals(PgTest.SCRIPTS, applied, "exactly one runner applies each script");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void migrateFalseOnAnEmptyDatabaseFailsNamingTheMigrateCommand() {
        StorageException e = assertThrows(StorageException.class,
                () -> PgTest.open(PgTest.settings(database).withMigrate(false)));
        assertTrue(e.getMessage().contains("does not exist") && e.getMessage().contains("migrate"), e.getMessage());
    }

    @Test
    void migrateFalseAfterAMigrationWorks() throws Exception {
        migrate(PgTest.settings(database));
        try (PostgresSessionStorage s = PgTest.open(PgTest.settings(database).withMigrate(false))) {
            s.set("k", new byte[] {7}, Duration.ofMinutes(1));
            assertArrayEquals(new byte[] {7}, s.get("k").orElseThrow());
        }
    }

    @Test
    void theScriptsArePackagedWithTheStorage() {
        assertTrue(PostgresMigrations.class.getClassLoader()
                .getResource("io/github/apisixsession/storage/postgres/migrations/V1__sessions.sql") != null);
        assertTrue(PostgresMigrations.class.getClassLoader()
                .getResource("io/github/apisixsession/storage/postgres/migrations/V2__notify.sql") != null);
    }
}
