package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.contract.SharedSessionStateContract;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** The shared-state contract against the local PostgreSQL: each runner is a storage (pool) of its own. */
@RequiresService(SharedPostgres.class)
class PostgresSharedStateContractTest extends SharedSessionStateContract {

    /** Whether this JVM's test database has been migrated by an earlier test of this class. */
    private static boolean migrated;
    private final List<PostgresSessionStorage> storages = new ArrayList<>();

    @BeforeEach
    void firstRunner() throws Exception {
        storages.add(PgTest.open(PgTest.settings().withMigrate(!migrated)));
        migrated = true;
    }

    @AfterEach
    void closeRunners() {
        storages.forEach(PostgresSessionStorage::close);
        storages.clear();
    }

    @Override
    protected SharedSessionState state() {
        return storages.get(0).sharedState().orElseThrow();
    }

    @Override
    protected SharedSessionState otherRunner() throws Exception {
        PostgresSessionStorage s = PgTest.open(PgTest.settings().withMigrate(false));
        storages.add(s);
        return s.sharedState().orElseThrow();
    }

    @Override
    protected void killFeedConnections() throws Exception {
        String db = PostgresTestDatabase.get().database();
        PgTest.strings(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE application_name = ? AND datname = current_database()", PostgresStateFeed.APPLICATION_NAME);
    }
}
