package io.github.apisixsession.storage.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.SQLException;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Connections built from {@link PostgresSettings}: the driver's own data source (every timeout
 * set, so no call can hang) and the HikariCP pool on top of it.
 *
 * <p>Bounds: a request waits at most {@code connect_timeout} for a pooled connection (the pool
 * keeps trying to connect meanwhile) and at most {@code query_timeout} for a query's answer
 * (the driver's socket timeout: a dead or black-holed server ends the wait and the connection is
 * dropped from the pool).
 */
final class PostgresConnections {

    static final String APPLICATION_NAME = "apisix-session";
    static final int MIN_LOGIN_TIMEOUT_SECONDS = 10;
    private static final AtomicInteger POOLS = new AtomicInteger();

    private PostgresConnections() {
    }

    /** A non-pooled data source: one physical connection per {@code getConnection()}. */
    static PGSimpleDataSource driverDataSource(PostgresSettings s) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(s.jdbcUrl());
        if (s.username() != null) {
            ds.setUser(s.username());
        }
        if (s.password() != null) {
            ds.setPassword(s.password());
        }
        int connectSeconds = ceilSeconds(s.connectTimeout().toMillis());
        ds.setConnectTimeout(connectSeconds);
        // opening a connection (TCP, TLS, authentication, and in a cold JVM the driver's classes)
        // may take longer than a request is willing to wait; requests are bounded by the pool's
        // connection timeout, this only ends attempts that would otherwise never finish
        ds.setLoginTimeout(Math.max(connectSeconds, MIN_LOGIN_TIMEOUT_SECONDS));
        ds.setSocketTimeout((int) s.queryTimeout().toSeconds());
        ds.setTcpKeepAlive(true);
        // server error details can quote values (session keys): keep them out of messages and logs
        ds.setLogServerErrorDetail(false);
        if (!s.jdbcUrl().toLowerCase(Locale.ROOT).contains("applicationname=")) {
            ds.setApplicationName(APPLICATION_NAME);
        }
        return ds;
    }

    /**
     * For Flyway: unpooled (it opens the two or three connections it needs, whatever
     * {@code pool_size}), and a socket timeout long enough for DDL: at least a minute.
     */
    static PGSimpleDataSource migrationDataSource(PostgresSettings s) {
        PGSimpleDataSource ds = driverDataSource(s);
        ds.setSocketTimeout((int) Math.max(60, s.queryTimeout().toSeconds()));
        return ds;
    }

    /** The request pool: {@code pool_size} connections, waits bounded by {@code connect_timeout}. */
    static HikariDataSource pool(PostgresSettings s) {
        HikariConfig c = new HikariConfig();
        c.setPoolName("apisix-session-postgres-" + POOLS.incrementAndGet());
        c.setDataSource(driverDataSource(s));
        c.setMaximumPoolSize(s.poolSize());
        c.setMinimumIdle(Math.min(s.poolSize(), 2));
        c.setIdleTimeout(600_000);
        long connectMillis = Math.max(250, s.connectTimeout().toMillis());
        c.setConnectionTimeout(connectMillis);
        c.setValidationTimeout(Math.max(250, Math.min(connectMillis / 2, 1_000)));
        // start without a database: the runner comes up (and the route answers 503) while it is down
        c.setInitializationFailTimeout(-1);
        c.setAutoCommit(true);
        if (s.synchronousCommit() != null) {
            // every statement of the pool is a session read or write (one of the checked values)
            c.setConnectionInitSql("SET synchronous_commit TO " + s.synchronousCommit());
        }
        c.setRegisterMbeans(false);
        return new HikariDataSource(c);
    }

    private static int ceilSeconds(long millis) {
        return (int) Math.max(1, (millis + 999) / 1000);
    }

    /**
     * A short description of a database failure for logs and {@link io.github.apisixsession.storage.StorageException}
     * messages: the first line of each distinct message in the cause chain (the driver is told not
     * to include server details, which can quote values), never the SQL or the URL.
     */
    static String describe(Throwable e) {
        StringBuilder out = new StringBuilder();
        Throwable t = e;
        int depth = 0;
        while (t != null && depth++ < 5) {
            if (t instanceof SQLException || !(t instanceof org.jooq.exception.DataAccessException)) {
                String m = t.getMessage();
                String line = m == null ? t.getClass().getSimpleName() : m.lines().findFirst().orElse("").trim();
                if (t instanceof SQLException sql && sql.getSQLState() != null) {
                    line = line + " [" + sql.getSQLState() + "]";
                }
                if (!line.isEmpty() && out.indexOf(line) < 0) {
                    if (out.length() > 0) {
                        out.append("; ");
                    }
                    out.append(line);
                }
            }
            t = t.getCause() == t ? null : t.getCause();
        }
        if (out.length() > 400) {
            out.setLength(400);
            out.append('…');
        }
        return out.length() == 0 ? e.getClass().getSimpleName() : out.toString();
    }

    /**
     * Whether {@code e} says the database could not be reached or answered in time (a connection
     * or operator-intervention SQLSTATE, the pool's timeout, an I/O error), rather than refusing
     * one statement.
     */
    static boolean unreachable(Throwable e) {
        Throwable t = e;
        for (int depth = 0; t != null && depth < 10; depth++) {
            if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.io.IOException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("08") || state.startsWith("53") || state.startsWith("57") || state.startsWith("58")) {
                    return true;
                }
            }
            t = t.getCause() == t ? null : t.getCause();
        }
        return false;
    }
}
