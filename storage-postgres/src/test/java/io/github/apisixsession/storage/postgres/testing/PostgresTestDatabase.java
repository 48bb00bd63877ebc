package io.github.apisixsession.storage.postgres.testing;

import io.github.apisixsession.testing.RequiresServiceExtension;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;

/**
 * The PostgreSQL server the tests use, and fresh databases on it that are dropped when the JVM
 * exits.
 *
 * <p>Where the server comes from: Testcontainers ({@code postgres:15-alpine}) when a Docker engine
 * answers; otherwise the server at {@code SESSION_TEST_PG_HOST}:{@code SESSION_TEST_PG_PORT}
 * (default 127.0.0.1:5432, user {@code SESSION_TEST_PG_USER}, default {@code postgres}, password
 * {@code SESSION_TEST_PG_PASSWORD}), which {@code .ci/run} starts. Tests declare the need with
 * {@code @RequiresService(SharedPostgres.class)}: when neither answers they are skipped with a
 * message, except under {@code CI=true}, where they fail.
 */
public final class PostgresTestDatabase {

    private static volatile PostgresTestDatabase instance;
    private static volatile String unavailable;

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String origin;
    private final String database;
    private final List<String> created = new ArrayList<>();

    private PostgresTestDatabase(String host, int port, String user, String password, String origin) throws SQLException {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.origin = origin;
        this.database = createDatabase("run");
        Runtime.getRuntime().addShutdownHook(new Thread(this::dropAll, "drop-test-databases"));
    }

    /**
     * The server and this JVM's database. Skips the calling test (or fails it under
     * {@code CI=true}) when no server answers, as {@link SharedPostgres} does.
     */
    public static PostgresTestDatabase get() {
        RequiresServiceExtension.require(SharedPostgres.class);
        return instance;
    }

    /** Starts (once per JVM) and returns null, or why there is no server. */
    static String unavailable() {
        synchronized (PostgresTestDatabase.class) {
            if (instance == null && unavailable == null) {
                try {
                    instance = start();
                } catch (Exception e) {
                    unavailable = e.getMessage();
                }
            }
        }
        return instance != null ? null : "no PostgreSQL for the tests: " + unavailable
                + " (start one on 127.0.0.1:5432, e.g. with `bash .ci/run`, or run a Docker engine)";
    }

    private static PostgresTestDatabase start() throws Exception {
        String host = env("SESSION_TEST_PG_HOST", "127.0.0.1");
        int port = Integer.parseInt(env("SESSION_TEST_PG_PORT", "5432"));
        String user = env("SESSION_TEST_PG_USER", "postgres");
        String password = env("SESSION_TEST_PG_PASSWORD", null);
        if (!Boolean.getBoolean("session.test.noDocker") && DockerPostgres.available()) {
            DockerPostgres c = DockerPostgres.start();
            return new PostgresTestDatabase(c.host(), c.port(), c.user(), c.password(), "Testcontainers " + c.image());
        }
        try (Connection c = connect(host, port, "postgres", user, password)) {
            String version = c.getMetaData().getDatabaseProductVersion();
            System.err.println("[postgres tests] no Docker engine: using the server at " + host + ":" + port
                    + " (PostgreSQL " + version + ")");
        } catch (SQLException e) {
            throw new IllegalStateException("no Docker engine, and " + host + ":" + port + " did not answer: "
                    + e.getMessage(), e);
        }
        return new PostgresTestDatabase(host, port, user, password, "local server");
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    private static Connection connect(String host, int port, String database, String user, String password)
            throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("connectTimeout", "15");
        p.setProperty("loginTimeout", "15");
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database, p);
    }

    /** A new empty database on the server, dropped at exit. */
    public synchronized String createDatabase(String purpose) throws SQLException {
        String name = ("apisix_session_test_" + purpose + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12))
                .toLowerCase(Locale.ROOT);
        try (Connection c = connect(host, port, "postgres", user, password); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        }
        created.add(name);
        return name;
    }

    private synchronized void dropAll() {
        long t0 = System.nanoTime();
        try (Connection c = connect(host, port, "postgres", user, password); Statement st = c.createStatement()) {
            st.execute("SET statement_timeout = '10s'");
            for (String name : created) {
                try {
                    st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
                } catch (SQLException e) {
                    System.err.println("[postgres tests] could not drop " + name + ": " + e.getMessage());
                }
            }
        } catch (SQLException e) {
            System.err.println("[postgres tests] could not drop the test databases " + created + ": " + e.getMessage());
        }
        System.err.printf("[postgres tests] dropped %d test database(s) in %.1f s%n", created.size(),
                (System.nanoTime() - t0) / 1e9);
        created.clear();
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String user() {
        return user;
    }

    /** May be null (trust authentication). */
    public String password() {
        return password;
    }

    /** This JVM's database. */
    public String database() {
        return database;
    }

    /** Where the server came from, for messages. */
    public String origin() {
        return origin;
    }

    public String jdbcUrl() {
        return jdbcUrl(database);
    }

    public String jdbcUrl(String db) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + db;
    }

    /** A connection to this JVM's database as the test user. */
    public Connection connection() throws SQLException {
        return connect(host, port, database, user, password);
    }

    public Connection connection(String db) throws SQLException {
        return connect(host, port, db, user, password);
    }
}
