package io.github.apisixsession.storage.postgres.testing;

import io.github.apisixsession.testing.TestService;

/**
 * The PostgreSQL server of {@link PostgresTestDatabase}: a Testcontainers one when Docker answers,
 * else {@code SESSION_TEST_PG_HOST}:{@code SESSION_TEST_PG_PORT} (default 127.0.0.1:5432).
 */
public final class SharedPostgres implements TestService {

    @Override
    public String missing() {
        return PostgresTestDatabase.unavailable();
    }
}
