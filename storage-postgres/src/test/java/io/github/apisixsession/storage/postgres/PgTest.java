package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Settings and SQL helpers for the tests of this module. */
final class PgTest {

    /** How many migration scripts the storage packages, and the version the last one brings. */
    static final int SCRIPTS;
    static final String LATEST_VERSION;

    static {
        List<Integer> versions = new ArrayList<>();
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of(PgTest.class.getClassLoader()
                .getResource("io/github/apisixsession/storage/postgres/migrations").toURI()))) {
            files.map(f -> f.getFileName().toString()).filter(n -> n.matches("V\\d+__.*\\.sql"))
                    .forEach(n -> versions.add(Integer.parseInt(n.substring(1, n.indexOf("__")))));
        } catch (java.io.IOException | java.net.URISyntaxException e) {
            throw new IllegalStateException("the packaged migrations cannot be listed", e);
        }
        SCRIPTS = versions.size();
        LATEST_VERSION = String.valueOf(versions.stream().mapToInt(Integer::intValue).max().orElseThrow());
    }

    private PgTest() {
    }

    /** What the migrate command prints after applying every script to an empty schema. */
    static String migratedFromNothing(String schema) {
        return "schema " + schema + " migrated from version none to " + LATEST_VERSION + " (" + SCRIPTS + " script"
                + (SCRIPTS == 1 ? "" : "s") + ")";
    }

    /**
     * This JVM's test database, default schema and prefix, migrate on, no background cleanup.
     * Pool and timeouts are generous: the contract's 16 threads on a loaded 2-core machine must
     * not time out waiting for a connection (the outage tests set tight bounds of their own).
     */
    static PostgresSettings settings() {
        return settings(PostgresTestDatabase.get().database());
    }

    static PostgresSettings settings(String database) {
        PostgresTestDatabase pg = PostgresTestDatabase.get();
        return new PostgresSettings(pg.jdbcUrl(database), pg.user(), pg.password(), "public", "apisix_", 16,
                Duration.ofSeconds(15), Duration.ofSeconds(15), true, Duration.ZERO, 1000);
    }

    static PostgresSessionStorage open(PostgresSettings settings) throws Exception {
        return PostgresSessionStorageProvider.open(settings);
    }

    /** The rows of a one-column query. */
    static List<String> strings(String database, String sql, Object... args) throws SQLException {
        try (Connection c = PostgresTestDatabase.get().connection(database);
             PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            List<String> out = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }
    }

    static long count(String database, String sql, Object... args) throws SQLException {
        return Long.parseLong(strings(database, sql, args).get(0));
    }

    static int update(String database, String sql, Object... args) throws SQLException {
        try (Connection c = PostgresTestDatabase.get().connection(database);
             PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            return st.executeUpdate();
        }
    }
}
