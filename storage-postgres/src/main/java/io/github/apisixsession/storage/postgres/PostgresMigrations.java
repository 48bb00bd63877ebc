package io.github.apisixsession.storage.postgres;

import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Flyway over the scripts of {@code migrations/} (packaged under
 * {@value #LOCATION}), with the schema and table prefix as placeholders.
 *
 * <p>Settings shared by {@code migrate: true}, the runner's {@code migrate} command and
 * {@code migrations/flyway.conf}: the history table is {@code <prefix>session_schema_history}
 * (so it never meets an application's own {@code flyway_schema_history}), the schema is created
 * when missing, and a schema that already holds other tables is baselined at version 0, so V1
 * still runs (its statements are {@code IF NOT EXISTS}). Several runners starting at once are
 * serialised by Flyway's advisory lock.
 */
public final class PostgresMigrations {

    public static final String LOCATION = "classpath:io/github/apisixsession/storage/postgres/migrations";

    private PostgresMigrations() {
    }

    /** What a migration did. */
    public record Outcome(String schema, String fromVersion, String toVersion, int applied) {
        @Override
        public String toString() {
            return applied == 0
                    ? "schema " + schema + " is up to date at version " + toVersion
                    : "schema " + schema + " migrated from version " + fromVersion + " to " + toVersion + " ("
                            + applied + " script" + (applied == 1 ? "" : "s") + ")";
        }
    }

    static Flyway flyway(DataSource dataSource, PostgresSettings settings) {
        return Flyway.configure(PostgresMigrations.class.getClassLoader())
                .dataSource(dataSource)
                .loggers(FlywayLogs.class.getName())
                .locations(LOCATION)
                .schemas(settings.schema())
                .defaultSchema(settings.schema())
                .createSchemas(true)
                .table(settings.historyTable())
                .placeholders(Map.of("schema", settings.schema(), "table_prefix", settings.tablePrefix()))
                .baselineOnMigrate(true)
                .baselineVersion("0")
                .baselineDescription("before apisix-session")
                .validateMigrationNaming(true)
                .cleanDisabled(true)
                .load();
    }

    /**
     * Applies the pending scripts. Runners that start together can race on a schema that needs a
     * baseline: one creates the history table while another finds it empty and gives up ("already
     * exists, and is empty"). The scripts are idempotent and Flyway locks the applying itself, so a
     * short, jittered retry settles it.
     */
    public static Outcome migrate(DataSource dataSource, PostgresSettings settings) {
        Flyway flyway = flyway(dataSource, settings);
        MigrateResult result;
        for (int attempt = 1; ; attempt++) {
            try {
                result = flyway.migrate();
                break;
            } catch (FlywayException e) {
                if (attempt >= 4) {
                    throw e;
                }
                try {
                    Thread.sleep(100L * attempt + java.util.concurrent.ThreadLocalRandom.current().nextInt(100));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
        String from = result.initialSchemaVersion == null ? "none" : result.initialSchemaVersion;
        String to = result.targetSchemaVersion != null ? result.targetSchemaVersion : current(flyway);
        return new Outcome(settings.schema(), from, to, result.migrationsExecuted);
    }

    /** The applied version, or {@code none}. */
    static String current(Flyway flyway) {
        MigrationInfo current = flyway.info().current();
        return current == null || current.getVersion() == null ? "none" : current.getVersion().getVersion();
    }

    /** The scripts not applied yet, for the migrate command's {@code --check}. */
    public static int pending(DataSource dataSource, PostgresSettings settings) {
        return flyway(dataSource, settings).info().pending().length;
    }
}
