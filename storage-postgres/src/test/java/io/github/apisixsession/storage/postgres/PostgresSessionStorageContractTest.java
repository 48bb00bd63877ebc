package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The SPI contract against a real PostgreSQL, default schema and table names, in real time. */
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
}
