package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The SPI contract against a real PostgreSQL, default schema and table names, in real time. */
@RequiresService(SharedPostgres.class)
class PostgresSessionStorageContractTest extends SessionStorageContract {

    private static PostgresSessionStorage storage;

    @BeforeAll
    static void open() throws Exception {
        storage = PgTest.open(PgTest.settings());
    }

    @AfterAll
    static void close() {
        if (storage != null) {
            storage.close();
        }
    }

    @Override
    protected SessionStorage storage() {
        return storage;
    }

    /** Network round trips on a loaded 2-core CI machine can eat most of the default 500 ms. */
    @Override
    protected Duration shortTtl() {
        return Duration.ofMillis(1500);
    }

    @Override
    protected Duration expiryMargin() {
        return Duration.ofMillis(500);
    }
}
