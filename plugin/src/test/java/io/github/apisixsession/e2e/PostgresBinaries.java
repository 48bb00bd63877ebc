package io.github.apisixsession.e2e;

import io.github.apisixsession.testing.TestService;
import java.io.IOException;

/**
 * PostgreSQL's server programs ({@code initdb}, {@code pg_ctl}) and, as root, a way to run them as
 * user {@code postgres}: for tests that crash and restart a private cluster
 * ({@link PrivatePostgres}), never the shared server.
 */
public final class PostgresBinaries implements TestService {

    @Override
    public String missing() {
        if (PrivatePostgres.binDir() == null) {
            return "PostgreSQL server binaries (initdb, pg_ctl) not found (apt-get install postgresql)";
        }
        try {
            return PrivatePostgres.cannotRunAsPostgres();
        } catch (IOException e) {
            return "cannot tell whether initdb may run as postgres: " + e.getMessage();
        }
    }
}
