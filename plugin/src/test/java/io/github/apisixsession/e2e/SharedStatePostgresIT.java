package io.github.apisixsession.e2e;

import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.util.Map;

/** {@link SharedStateITBase} on the machine's PostgreSQL (a fresh database): LISTEN/NOTIFY feed. */
@RequiresService(SharedPostgres.class)
class SharedStatePostgresIT extends SharedStateITBase {
    private String database;

    @Override
    String storeName() {
        return "postgres";
    }

    @Override
    Map<String, Object> storeConf() {
        return PostgresStorageIT.postgres(database);
    }

    @Override
    RunnerProcess.Builder runnerBuilder() {
        return PostgresStorageIT.runner();
    }

    @Override
    void startStore() throws Exception {
        database = PostgresTestDatabase.get().createDatabase("shared");
    }

    @Override
    void stopStore() {
        // the test database is dropped with the others at the end of the run
    }
}
