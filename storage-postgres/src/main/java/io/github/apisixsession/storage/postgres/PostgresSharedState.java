package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedStateFeeds;
import io.github.apisixsession.storage.StorageException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * {@link SharedSessionState} in PostgreSQL (issue 13): the tables of {@code migrations/V3__shared_state.sql}
 * on the storage's pool, and a LISTEN connection of its own per {@link #watch} ({@link PostgresStateFeed}).
 *
 * <p>Each write is one statement that changes a row only when it moves forward (a later
 * {@code until} for a revocation, a later {@code issued_before} for a marker, anything over an
 * expired row) and, in a CTE over the changed row, calls {@code pg_notify} with the change
 * ({@link StateNotification}): the notification is sent on commit, so listeners never hear of a
 * change that did not happen. Expiry compares with the database's clock; expired rows are ignored
 * by reads and deleted by the storage's periodic cleanup ({@link #cleanUpExpired}).
 */
final class PostgresSharedState implements SharedSessionState, AutoCloseable {

    private final PostgresSettings settings;
    private final StorageCalls calls;
    private final String channel;
    private final String revokeSql;
    private final String markSql;
    private final String incrementSql;
    private final String resetSql;
    private final String revocationsSql;
    private final String markersSql;
    private final List<String> cleanupSql;
    private final SharedStateFeeds feeds = new SharedStateFeeds("postgres storage");

    /** How the storage runs a call: its failure reporting and health logging. */
    @FunctionalInterface
    interface StorageCalls {
        <T> T run(String operation, SqlCall<T> call) throws StorageException;
    }

    @FunctionalInterface
    interface SqlCall<T> {
        T apply(Connection c) throws SQLException;
    }

    PostgresSharedState(PostgresSettings settings, StorageCalls calls) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.calls = Objects.requireNonNull(calls, "calls");
        this.channel = channel(settings);
        String t = settings.schema() + "." + settings.tablePrefix();
        this.revokeSql = "WITH changed AS (INSERT INTO " + t + "revocations AS r (id, until) SELECT ?, ? WHERE ? > now()"
                + " ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until WHERE r.until < EXCLUDED.until"
                + " RETURNING 1) SELECT pg_notify(?, ?) FROM changed";
        this.markSql = "WITH changed AS (INSERT INTO " + t + "subject_markers AS m"
                + " (audience, whole_audience, subject, issued_before, until) SELECT ?, ?, ?, ?, ? WHERE ? > now()"
                + " ON CONFLICT (audience, whole_audience, subject) DO UPDATE"
                + " SET issued_before = EXCLUDED.issued_before, until = EXCLUDED.until"
                + " WHERE m.issued_before < EXCLUDED.issued_before OR m.until <= now()"
                + " RETURNING 1) SELECT pg_notify(?, ?) FROM changed";
        this.incrementSql = "INSERT INTO " + t + "counters AS c (name, value, expires_at)"
                + " VALUES (?, 1, now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (name) DO UPDATE SET"
                + " value = CASE WHEN c.expires_at <= now() THEN 1 ELSE c.value + 1 END,"
                + " expires_at = CASE WHEN c.expires_at <= now() THEN EXCLUDED.expires_at ELSE c.expires_at END"
                + " RETURNING value";
        this.resetSql = "DELETE FROM " + t + "counters WHERE name = ?";
        this.revocationsSql = "SELECT id, until FROM " + t + "revocations WHERE until > now()";
        this.markersSql = "SELECT audience, whole_audience, subject, issued_before, until FROM " + t
                + "subject_markers WHERE until > now()";
        this.cleanupSql = List.of(cleanup(t + "revocations", "until"), cleanup(t + "subject_markers", "until"),
                cleanup(t + "counters", "expires_at"));
    }

    /**
     * {@code <schema>_<table_prefix>state}: NOTIFY channels are per database, so the schema is
     * part of it; cut to PostgreSQL's 63-byte identifier limit (names are ASCII).
     */
    static String channel(PostgresSettings s) {
        String c = s.schema() + "_" + s.tablePrefix() + "state";
        return c.length() > 63 ? c.substring(0, 63) : c;
    }

    String channel() {
        return channel;
    }

    @Override
    public void revoke(String id, Instant until) throws StorageException {
        Revocation r = new Revocation(id, until);
        calls.run("revoke", c -> {
            try (PreparedStatement st = c.prepareStatement(revokeSql)) {
                OffsetDateTime u = time(until);
                st.setString(1, id);
                st.setObject(2, u);
                st.setObject(3, u);
                st.setString(4, channel);
                st.setString(5, StateNotification.of(r));
                st.execute();
                return null;
            }
        });
    }

    @Override
    public void revokeIssuedBefore(String audience, String subject, Instant issuedBefore, Instant until)
            throws StorageException {
        Marker m = new Marker(audience, subject, issuedBefore, until);
        calls.run("mark", c -> {
            try (PreparedStatement st = c.prepareStatement(markSql)) {
                OffsetDateTime u = time(until);
                st.setString(1, audience);
                st.setBoolean(2, subject == null);
                st.setString(3, subject == null ? "" : subject);
                st.setObject(4, time(issuedBefore));
                st.setObject(5, u);
                st.setObject(6, u);
                st.setString(7, channel);
                st.setString(8, StateNotification.of(m));
                st.execute();
                return null;
            }
        });
    }

    @Override
    public long increment(String counter, Duration ttl) throws StorageException {
        Objects.requireNonNull(counter, "counter");
        long ttlMillis = Math.max(1, ttl.toMillis());
        return calls.run("count", c -> {
            try (PreparedStatement st = c.prepareStatement(incrementSql)) {
                st.setString(1, counter);
                st.setLong(2, ttlMillis);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    @Override
    public void reset(String counter) throws StorageException {
        Objects.requireNonNull(counter, "counter");
        calls.run("reset", c -> {
            try (PreparedStatement st = c.prepareStatement(resetSql)) {
                st.setString(1, counter);
                return st.executeUpdate();
            }
        });
    }

    @Override
    public Snapshot snapshot() throws StorageException {
        return calls.run("snapshot", c -> {
            List<Revocation> revocations = new ArrayList<>();
            List<Marker> markers = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement(revocationsSql); ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    revocations.add(new Revocation(rs.getString(1), instant(rs, 2)));
                }
            }
            try (PreparedStatement st = c.prepareStatement(markersSql); ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    markers.add(new Marker(rs.getString(1), rs.getBoolean(2) ? null : rs.getString(3),
                            instant(rs, 4), instant(rs, 5)));
                }
            }
            return new Snapshot(revocations, markers);
        });
    }

    /** A batch of expired rows, skipping those another runner's cleanup holds (no waits, no deadlocks). */
    private static String cleanup(String table, String column) {
        return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + column
                + " <= now() LIMIT ? FOR UPDATE SKIP LOCKED))";
    }

    /**
     * Deletes the expired revocations, markers and counters, {@code batch} rows at a time, until a
     * batch comes back short or {@code stop} says so; the number of rows deleted.
     */
    long cleanUpExpired(Connection c, int batch, java.util.function.BooleanSupplier stop) throws SQLException {
        long total = 0;
        for (String sql : cleanupSql) {
            try (PreparedStatement st = c.prepareStatement(sql)) {
                st.setInt(1, batch);
                int deleted;
                do {
                    deleted = st.executeUpdate();
                    total += deleted;
                } while (deleted >= batch && !stop.getAsBoolean());
            }
        }
        return total;
    }

    @Override
    public AutoCloseable watch(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        return feeds.open(() -> new PostgresStateFeed(settings, channel, listener));
    }

    @Override
    public void close() {
        feeds.close();
    }

    private static OffsetDateTime time(Instant i) {
        return OffsetDateTime.ofInstant(Objects.requireNonNull(i, "time"), ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }
}
