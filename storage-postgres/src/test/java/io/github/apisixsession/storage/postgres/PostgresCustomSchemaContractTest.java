package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contract again with another schema and table prefix: the generated jOOQ classes name
 * {@code public.apisix_*}, and the render mapping must send every query to the configured tables.
 */
@RequiresService(SharedPostgres.class)
class PostgresCustomSchemaContractTest extends SessionStorageContract {

    private static PostgresSessionStorage storage;
    private static String database;

    @BeforeAll
    static void open() throws Exception {
        database = PostgresTestDatabase.get().database();
        storage = PgTest.open(PgTest.settings().withSchema("sessions_custom", "gw1_"));
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

    @Test
    void rowsLandInTheConfiguredTables() throws Exception {
        String key = key("where");
        storage.set(key, new byte[] {1}, Duration.ofMinutes(1), null,
                io.github.apisixsession.storage.SessionMetadata.of(key("aud"), key("sub")));
        assertEquals(1, PgTest.count(database, "SELECT count(*) FROM sessions_custom.gw1_sessions WHERE key = ?", key));
        assertEquals(1, PgTest.count(database,
                "SELECT count(*) FROM sessions_custom.gw1_session_metadata WHERE key = ?", key));
        assertEquals(0, PgTest.count(database,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'gw1_sessions'"));
    }
}
