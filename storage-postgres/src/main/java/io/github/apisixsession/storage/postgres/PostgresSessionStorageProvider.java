package io.github.apisixsession.storage.postgres;

import com.zaxxer.hikari.HikariDataSource;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code "storage": "postgres"}: sessions in PostgreSQL, shared by every runner that uses the
 * same database, kept across restarts. Settings: the route's {@code postgres} object (see
 * {@link PostgresSettings} and docs/postgres.md).
 *
 * <p>{@link #create} runs once per distinct config. With {@code migrate: true} (the default) it
 * applies the Flyway scripts first; a database that cannot be reached then fails the create
 * with a {@link StorageException} (the route answers 503 and the next conf retries). With
 * {@code migrate: false} the storage starts even while the database is down; when it is up and
 * the tables are missing the create fails, naming the {@code migrate} command.
 */
public final class PostgresSessionStorageProvider implements SessionStorageProvider {

    public static final String NAME = "postgres";

    private static final Logger LOG = LoggerFactory.getLogger(PostgresSessionStorageProvider.class);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(StorageConfig config) throws StorageConfigException {
        PostgresSettings.validate(config);
    }

    @Override
    public SessionStorage create(StorageConfig config, StorageContext context)
            throws StorageConfigException, StorageException {
        return open(PostgresSettings.parse(config, context.environment()));
    }

    /** A storage for {@code settings}: migrated (or checked), pooled, cleaning up. */
    public static PostgresSessionStorage open(PostgresSettings settings) throws StorageException {
        if (settings.migrate()) {
            try {
                PostgresMigrations.Outcome outcome =
                        PostgresMigrations.migrate(PostgresConnections.migrationDataSource(settings), settings);
                LOG.info("postgres storage {}: {}", settings.describe(), outcome);
            } catch (FlywayException | IllegalStateException e) {
                throw new StorageException("postgres migration failed: " + PostgresConnections.describe(e), e);
            }
        }
        HikariDataSource pool = PostgresConnections.pool(settings);
        try {
            if (!settings.migrate()) {
                checkTables(pool, settings);
            }
            PostgresSessionStorage storage = new PostgresSessionStorage(settings, pool,
                    PostgresConnections.driverDataSource(settings));
            LOG.info("postgres storage {} ready (pool {}, cleanup every {} s)", settings.describe(),
                    settings.poolSize(), settings.cleanupInterval().toSeconds());
            return storage;
        } catch (StorageException | RuntimeException e) {
            pool.close();
            throw e;
        }
    }

    /**
     * With {@code migrate: false}: fails when the database answers and the sessions table is
     * missing (someone forgot to migrate); a database that is down is not an error yet.
     */
    private static void checkTables(HikariDataSource pool, PostgresSettings settings) throws StorageException {
        String table = settings.schema() + "." + settings.sessionsTable();
        try (Connection c = pool.getConnection();
             PreparedStatement st = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            st.setString(1, table);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next() && !rs.getBoolean(1)) {
                    throw new StorageException("postgres table " + table + " does not exist: run "
                            + "`java -jar apisix-session-runner.jar migrate` or set postgres.migrate to true");
                }
            }
        } catch (SQLException e) {
            LOG.warn("postgres storage {}: database not reachable at start ({}); requests answer "
                    + "storage_error_status until it is", settings.describe(), PostgresConnections.describe(e));
        }
    }
}
