package io.github.apisixsession.storage.postgres;

import static io.github.apisixsession.storage.postgres.jooq.Tables.APISIX_SESSIONS;
import static io.github.apisixsession.storage.postgres.jooq.Tables.APISIX_SESSION_METADATA;

import com.zaxxer.hikari.HikariDataSource;
import io.github.apisixsession.storage.OutageGuard;
import io.github.apisixsession.storage.OutageLog;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.cache.CoherentCache;
import io.github.apisixsession.storage.postgres.jooq.tables.ApisixSessionMetadata;
import io.github.apisixsession.storage.postgres.jooq.tables.ApisixSessions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.InsertValuesStep3;
import org.jooq.Record2;
import org.jooq.SQLDialect;
import org.jooq.conf.MappedSchema;
import org.jooq.conf.MappedTable;
import org.jooq.conf.RenderMapping;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions in PostgreSQL, lua-resty-session's postgres storage on HikariCP and jOOQ.
 *
 * <ul>
 *   <li>{@code set}: {@code INSERT … ON CONFLICT (key) DO UPDATE}; a renewal also shortens the old
 *       row to {@code stale_ttl} when that is sooner ({@code UPDATE … WHERE expires_at > stale}),
 *       and metadata replaces the session's (audience, subject) rows, all in one transaction.</li>
 *   <li>{@code get} and {@code sessionsOf} ignore rows past {@code expires_at}. With
 *       {@code client_cache} (on by default) {@code get} answers a row read before from the
 *       runner's memory while a LISTEN connection hears of every change ({@link PostgresClientCache});
 *       this storage's own writes and deletes drop the local copy at once.</li>
 *   <li>{@code delete} removes the row; its metadata rows go with it (cascading foreign key).</li>
 *   <li>Expired rows are deleted by a daemon thread ({@link ExpiredRowsCleanup}).</li>
 * </ul>
 *
 * <p>Every time is the database's ({@code current_timestamp}), so runners whose clocks differ
 * agree on expiry. Failures become {@link StorageException}s whose messages carry neither keys
 * nor values nor the password.
 */
public final class PostgresSessionStorage implements SessionStorage {

    private static final Logger LOG = LoggerFactory.getLogger(PostgresSessionStorage.class);

    static {
        // jOOQ's start-up banner and tips are noise in the runner's (APISIX's) error log
        if (System.getProperty("org.jooq.no-logo") == null) {
            System.setProperty("org.jooq.no-logo", "true");
        }
        if (System.getProperty("org.jooq.no-tips") == null) {
            System.setProperty("org.jooq.no-tips", "true");
        }
    }

    private static final ApisixSessions S = APISIX_SESSIONS;
    private static final ApisixSessionMetadata M = APISIX_SESSION_METADATA;
    /** Longer TTLs are clamped (a century) instead of overflowing. */
    private static final Duration MAX_TTL = Duration.ofDays(365L * 100);
    /** A row's time left in microseconds, by the database's clock. */
    private static final Field<Long> LIFE_MICROS = DSL.field(
            "(extract(epoch from ({0} - current_timestamp)) * 1000000)::bigint", SQLDataType.BIGINT, S.EXPIRES_AT);

    private final PostgresSettings settings;
    private final HikariDataSource pool;
    private final DSLContext db;
    private final Settings jooqSettings;
    private final ExpiredRowsCleanup cleanup;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The outage log and the circuit breaker of the request-path calls. */
    private final OutageGuard guard;
    /** {@code client_cache}; null when off. */
    private final PostgresClientCache cache;
    /** Made by {@link #sharedState()}; guarded by this. */
    private PostgresSharedState sharedState;

    /**
     * Connects lazily (the pool starts even while the database is down) and starts the cleanup.
     * With {@code settings.migrate()} the caller runs the migrations first; see
     * {@link PostgresSessionStorageProvider}.
     *
     * @param unpooled opens one physical connection per call: the cleanup's, and the client cache's LISTEN connection
     */
    PostgresSessionStorage(PostgresSettings settings, HikariDataSource pool, DataSource unpooled) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.pool = Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(unpooled, "unpooled");
        this.jooqSettings = jooqSettings(settings);
        // real time: the breaker's cool-down and the log's interval are not session time
        this.guard = new OutageGuard("postgres storage " + settings.describe(), settings.circuitBreaker(),
                Clock.systemUTC(), OutageLog.Sink.of(LOG::warn, LOG::info));
        this.db = DSL.using(pool, SQLDialect.POSTGRES, jooqSettings);
        this.cache = settings.clientCache().enabled() ? new PostgresClientCache(settings.describe(), settings.clientCache(),
                new NotificationFeed(settings, unpooled, System::nanoTime), System::nanoTime) : null;
        this.cleanup = new ExpiredRowsCleanup(settings, unpooled, jooqSettings);
    }

    /**
     * The generated classes name the default schema and tables ({@code public.apisix_*}); the
     * configured ones are substituted when SQL is rendered.
     */
    static Settings jooqSettings(PostgresSettings settings) {
        return new Settings()
                // jOOQ's execute logging would print bind values (session keys) at debug level
                .withExecuteLogging(false)
                .withRenderMapping(new RenderMapping().withSchemata(new MappedSchema()
                        .withInput(S.getSchema().getName())
                        .withOutput(settings.schema())
                        .withTables(
                                new MappedTable().withInput(S.getName()).withOutput(settings.sessionsTable()),
                                new MappedTable().withInput(M.getName()).withOutput(settings.metadataTable()))));
    }

    public PostgresSettings settings() {
        return settings;
    }

    /** The jOOQ context this storage queries with (tests and benchmarks read the tables through it). */
    public DSLContext dsl() {
        return db;
    }

    // ------------------------------------------------------------------ SessionStorage

    @Override
    public Optional<byte[]> get(String key) throws StorageException {
        Objects.requireNonNull(key, "key");
        return cache == null ? Optional.ofNullable(read(key)) : cache.get(key, () -> read(key), () -> readWithLife(key));
    }

    private byte[] read(String key) throws StorageException {
        guard.acquire();
        try {
            byte[] data = db.select(S.DATA).from(S).where(S.KEY.eq(key))
                    .and(S.EXPIRES_AT.gt(DSL.currentOffsetDateTime()))
                    .fetchOne(S.DATA);
            reachable();
            return data;
        } catch (RuntimeException e) {
            throw failure("get", e);
        }
    }

    /** The value and its row's time left by the database's clock (a miss of the client cache), or null. */
    private CoherentCache.Read readWithLife(String key) throws StorageException {
        guard.acquire();
        try {
            Record2<byte[], Long> row = db.select(S.DATA, LIFE_MICROS).from(S).where(S.KEY.eq(key))
                    .and(S.EXPIRES_AT.gt(DSL.currentOffsetDateTime()))
                    .fetchOne();
            reachable();
            return row == null ? null : new CoherentCache.Read(row.value1(), TimeUnit.MICROSECONDS.toNanos(row.value2()));
        } catch (RuntimeException e) {
            throw failure("get", e);
        }
    }

    @Override
    public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
            throws StorageException {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive");
        }
        boolean renew = renewal != null && !renewal.oldKey().equals(key);
        boolean meta = metadata != null && !metadata.entries().isEmpty();
        guard.acquire();
        try {
            if (!renew && !meta) {
                // the common write (a new session, a touch): one statement, no transaction
                upsert(db, key, value, ttl);
                reachable();
                return;
            }
            db.transaction(tx -> {
                DSLContext t = tx.dsl();
                upsert(t, key, value, ttl);
                if (renew) {
                    Field<OffsetDateTime> staleAt = inFromNow(renewal.staleTtl());
                    // only ever shortens: an old row that expires sooner keeps its expiry
                    t.update(S).set(S.EXPIRES_AT, staleAt)
                            .where(S.KEY.eq(renewal.oldKey()))
                            .and(S.EXPIRES_AT.gt(staleAt))
                            .execute();
                }
                if (meta) {
                    t.deleteFrom(M).where(M.KEY.eq(key)).execute();
                    Set<SessionMetadata.Entry> owners = new LinkedHashSet<>(metadata.entries());
                    InsertValuesStep3<?, String, String, String> insert = t.insertInto(M, M.AUDIENCE, M.SUBJECT, M.KEY);
                    for (SessionMetadata.Entry owner : owners) {
                        insert = insert.values(owner.audience(), owner.subject(), key);
                    }
                    insert.onConflictDoNothing().execute();
                }
            });
            reachable();
        } catch (RuntimeException e) {
            throw failure("set", e);
        } finally {
            forget(key, renew ? renewal.oldKey() : null);
        }
    }

    private static void upsert(DSLContext ctx, String key, byte[] value, Duration ttl) {
        Field<OffsetDateTime> expiresAt = inFromNow(ttl);
        ctx.insertInto(S, S.KEY, S.DATA, S.EXPIRES_AT)
                // the driver copies the bytes into the message: later changes to value do not leak in
                .values(DSL.val(key), DSL.val(value), expiresAt)
                .onConflict(S.KEY)
                .doUpdate()
                .set(S.DATA, DSL.excluded(S.DATA))
                .set(S.EXPIRES_AT, DSL.excluded(S.EXPIRES_AT))
                .execute();
    }

    /** {@code current_timestamp + d}, to the microsecond (timestamptz's precision). */
    private static Field<OffsetDateTime> inFromNow(Duration d) {
        long micros = (d.compareTo(MAX_TTL) > 0 ? MAX_TTL : d).toNanos() / 1_000;
        return DSL.field("(current_timestamp + {0} * interval '1 microsecond')", SQLDataType.TIMESTAMPWITHTIMEZONE,
                DSL.val(micros));
    }

    @Override
    public void delete(String key, SessionMetadata metadata) throws StorageException {
        Objects.requireNonNull(key, "key");
        guard.acquire();
        try {
            // metadata rows follow through ON DELETE CASCADE
            db.deleteFrom(S).where(S.KEY.eq(key)).execute();
            reachable();
        } catch (RuntimeException e) {
            throw failure("delete", e);
        } finally {
            forget(key, null);
        }
    }

    /** This runner wrote or deleted these keys: their local copies go now, written or not. */
    private void forget(String key, String oldKey) {
        if (cache != null) {
            cache.forget(key);
            if (oldKey != null) {
                cache.forget(oldKey);
            }
        }
    }

    /** The client cache's counters; null when {@code client_cache} is off. */
    PostgresClientCache.Statistics clientCacheStatistics() {
        return cache == null ? null : cache.statistics();
    }

    /** The client cache's LISTEN connection (tests); null when {@code client_cache} is off. */
    NotificationFeed notificationFeed() {
        return cache == null ? null : cache.feed();
    }

    @Override
    public boolean supportsMetadata() {
        return true;
    }

    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        Objects.requireNonNull(audience, "audience");
        Objects.requireNonNull(subject, "subject");
        guard.acquire();
        try {
            Map<String, Instant> sessions = db.select(S.KEY, S.EXPIRES_AT)
                    .from(M).join(S).on(S.KEY.eq(M.KEY))
                    .where(M.AUDIENCE.eq(audience))
                    .and(M.SUBJECT.eq(subject))
                    .and(S.EXPIRES_AT.gt(DSL.currentOffsetDateTime()))
                    .fetch()
                    .stream()
                    .collect(Collectors.toUnmodifiableMap(r -> r.value1(), r -> r.value2().toInstant(), (a, b) -> a));
            reachable();
            return sessions;
        } catch (RuntimeException e) {
            throw failure("sessionsOf", e);
        }
    }

    /** Revocations, markers and counters shared with every runner on this database (issue 13), made on first use. */
    @Override
    public synchronized Optional<SharedSessionState> sharedState() {
        if (sharedState == null) {
            sharedState = new PostgresSharedState(settings, this::sharedStateCall);
            cleanup.alsoClean(sharedState);
        }
        return Optional.of(sharedState);
    }

    private <T> T sharedStateCall(String operation, PostgresSharedState.SqlCall<T> call) throws StorageException {
        guard.acquire();
        try (Connection c = pool.getConnection()) {
            T result = call.apply(c);
            reachable();
            return result;
        } catch (SQLException | RuntimeException e) {
            throw failure(operation, e);
        }
    }

    // ------------------------------------------------------------------ cleanup

    /**
     * Deletes expired rows now, in batches until a batch comes back short (or the storage closes).
     * Once {@link #sharedState()} is in use, its expired revocations, markers and counters go too.
     *
     * @return the number of rows deleted
     */
    public long cleanUpExpired() throws StorageException {
        try {
            return cleanup.run();
        } catch (SQLException | RuntimeException e) {
            throw failure("cleanup", e);
        }
    }

    /** Whether the cleanup thread is scheduled (not after {@link #close()}). */
    boolean cleanupRunning() {
        return cleanup.running();
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (cache != null) {
            cache.close();
        }
        synchronized (this) {
            if (sharedState != null) {
                sharedState.close();
            }
        }
        cleanup.close();
        pool.close();
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Whether the last request-path call reached the database (tests). */
    boolean healthy() {
        return !guard.failing();
    }

    /** After a request-path call that reached the database: closes the circuit, logs the end of an outage. */
    private void reachable() {
        guard.reached();
    }

    /** Whether {@code e} says the database could not be reached ({@link PostgresConnections#unreachable}). */
    static boolean unreachable(Throwable e) {
        return PostgresConnections.unreachable(e);
    }

    private StorageException failure(String operation, Throwable e) {
        if (closed.get()) {
            return new StorageException("postgres " + operation + " failed: the storage is closed");
        }
        // request-path failures: the outage log and the circuit breaker (the cleanup has its own warning)
        if (!"cleanup".equals(operation)) {
            if (unreachable(e)) {
                guard.unreachable(PostgresConnections.describe(e));
            } else {
                guard.reached(); // the database answered, refusing one statement
            }
        }
        return new StorageException("postgres " + operation + " failed: " + PostgresConnections.describe(e), e);
    }
}
