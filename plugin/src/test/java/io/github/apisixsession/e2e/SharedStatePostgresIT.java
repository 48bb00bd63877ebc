package io.github.apisixsession.e2e;

import io.github.apisixsession.testing.RequiresService;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link SharedStateITBase} on a PostgreSQL cluster of the test's own ({@link PrivatePostgres}:
 * killing the machine's shared server would break the other tests): LISTEN/NOTIFY feed. A kill is
 * {@code pg_ctl stop -m immediate} (no checkpoint), the restart recovers the same data dir.
 */
@RequiresService(PostgresBinaries.class)
class SharedStatePostgresIT extends SharedStateITBase {
    private static final String DATABASE = "shared";
    private PrivatePostgres postgres;

    @Override
    String storeName() {
        return "postgres";
    }

    @Override
    Map<String, Object> storeConf() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", "127.0.0.1");
        m.put("port", postgres.port);
        m.put("database", DATABASE);
        m.put("username", "postgres"); // initdb --auth=trust: no password
        return m;
    }

    @Override
    void startStore() throws Exception {
        postgres = PrivatePostgres.create();
        postgres.start();
        postgres.execute("postgres", "CREATE DATABASE " + DATABASE);
    }

    @Override
    void stopStore() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    @Override
    void killStore() throws Exception {
        postgres.stopImmediate();
    }

    @Override
    void restartStore() throws Exception {
        postgres.start();
    }
}
