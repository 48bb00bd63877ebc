package io.github.apisixsession.storage.postgres;

import static io.github.apisixsession.storage.postgres.jooq.Tables.APISIX_SESSIONS;
import static io.github.apisixsession.storage.postgres.jooq.Tables.APISIX_SESSION_METADATA;

import com.zaxxer.hikari.HikariDataSource;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.postgres.jooq.tables.ApisixSessionMetadata;
import io.github.apisixsession.storage.postgres.jooq.tables.ApisixSessions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.InsertValuesStep3;
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
 *   <li>{@code get} and {@code sessionsOf} ignore rows past {@code expires_at}.</li>
 *   <li>{@code delete} removes the row; its metadata rows go with it (cascading foreign key).</li>
 *   <li>Expired rows are deleted by a daemon thread every {@code cleanup_interval}, in batches of
 *       {@code cleanup_batch_size} ({@code LIMIT n FOR UPDATE SKIP LOCKED}, so runners sharing the
 *       database never wait for each other), on a connection of its own: request threads never
 *       wait for it.</li>
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
    private static final AtomicInteger CLEANERS = new AtomicInteger();
    /** Longer TTLs are clamped (a century) instead of overflowing. */
    private static final Duration MAX_TTL = Duration.ofDays(365L * 100);

    private final PostgresSettings settings;
    private final HikariDataSource pool;
    private final DataSource cleanupDataSource;
    private final DSLContext db;
    private final Settings jooqSettings;
    private final ScheduledExecutorService cleaner;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Made by {@link #sharedState()}; guarded by this. */
    private PostgresSharedState sharedState;
    /** False from the first request that could not reach the database until one that could. */
    private final AtomicBoolean healthy = new AtomicBoolean(true);

    /**
     * Connects lazily (the pool starts even while the database is down) and starts the cleanup.
     * With {@code settings.migrate()} the caller runs the migrations first; see
     * {@link PostgresSessionStorageProvider}.
     */
    PostgresSessionStorage(PostgresSettings settings, HikariDataSource pool, DataSource cleanupDataSource) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.cleanupDataSource = Objects.requireNonNull(cleanupDataSource, "cleanupDataSource");
        this.jooqSettings = jooqSettings(settings);
        this.db = DSL.using(pool, SQLDialect.POSTGRES, jooqSettings);
        if (settings.cleanupInterval().isZero()) {
            this.cleaner = null;
        } else {
            this.cleaner = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "apisix-session-postgres-cleanup-" + CLEANERS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            long period = settings.cleanupInterval().toMillis();
            // runners started together spread their cleanups over the interval
            long first = ThreadLocalRandom.current().nextLong(period / 2, period + 1);
            cleaner.scheduleWithFixedDelay(this::scheduledCleanup, first, period, TimeUnit.MILLISECONDS);
        }
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
        try {
            byte[] data = db.select(S.DATA).from(S)
                    .where(S.KEY.eq(key))
                    .and(S.EXPIRES_AT.gt(DSL.currentOffsetDateTime()))
                    .fetchOne(S.DATA);
            reachable();
            return Optional.ofNullable(data);
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
        try {
            // metadata rows follow through ON DELETE CASCADE
            db.deleteFrom(S).where(S.KEY.eq(key)).execute();
            reachable();
        } catch (RuntimeException e) {
            throw failure("delete", e);
        }
    }

    @Override
    public boolean supportsMetadata() {
        return true;
    }

    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) throws StorageException {
        Objects.requireNonNull(audience, "audience");
        Objects.requireNonNull(subject, "subject");
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
        }
        return Optional.of(sharedState);
    }

    private <T> T sharedStateCall(String operation, PostgresSharedState.SqlCall<T> call) throws StorageException {
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
     * Deletes expired rows in batches until a batch comes back short (or the storage closes), on
     * one connection of the cleanup's own. Rows another runner is deleting (locked) are skipped.
     * Once {@link #sharedState()} is in use, its expired revocations, markers and counters go too.
     *
     * @return the number of rows deleted
     */
    public long cleanUpExpired() throws StorageException {
        long total = 0;
        try (Connection c = cleanupDataSource.getConnection()) {
            DSLContext ctx = DSL.using(c, SQLDialect.POSTGRES, jooqSettings);
            int batch = settings.cleanupBatchSize();
            int deleted;
            do {
                deleted = ctx.deleteFrom(S)
                        .where(S.KEY.in(DSL.select(S.KEY).from(S)
                                .where(S.EXPIRES_AT.lt(DSL.currentOffsetDateTime()))
                                .limit(batch)
                                .forUpdate()
                                .skipLocked()))
                        .execute();
                total += deleted;
            } while (deleted >= batch && !closed.get());
            PostgresSharedState shared;
            synchronized (this) {
                shared = sharedState;
            }
            if (shared != null && !closed.get()) {
                total += shared.cleanUpExpired(c, batch, closed::get);
            }
            return total;
        } catch (SQLException | RuntimeException e) {
            throw failure("cleanup", e);
        }
    }

    private void scheduledCleanup() {
        if (closed.get()) {
            return;
        }
        try {
            long n = cleanUpExpired();
            if (n > 0) {
                LOG.debug("postgres storage {}: deleted {} expired sessions", settings.describe(), n);
            }
        } catch (StorageException e) {
            // the next round tries again; requests are not affected
            LOG.warn("postgres storage {}: cleanup of expired sessions failed: {}", settings.describe(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("postgres storage {}: cleanup of expired sessions failed: {}", settings.describe(), e.toString());
        }
    }

    /** Whether the cleanup thread is scheduled (not after {@link #close()}). */
    boolean cleanupRunning() {
        return cleaner != null && !cleaner.isShutdown();
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (this) {
            if (sharedState != null) {
                sharedState.close();
            }
        }
        if (cleaner != null) {
            cleaner.shutdownNow();
            try {
                cleaner.awaitTermination(settings.queryTimeout().toMillis() + 1_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        pool.close();
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Whether the last request-path call reached the database (tests). */
    boolean healthy() {
        return healthy.get();
    }

    /** After a request-path call that reached the database: logs the end of an outage, once. */
    private void reachable() {
        if (!healthy.get() && healthy.compareAndSet(false, true)) {
            LOG.info("postgres storage {}: reachable again", settings.describe());
        }
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

    private StorageException failure(String operation, Throwable e) {
        if (closed.get()) {
            return new StorageException("postgres " + operation + " failed: the storage is closed");
        }
        // the first request-path failure of an outage is logged once here, the recovery by reachable()
        if (!"cleanup".equals(operation) && unreachable(e) && healthy.compareAndSet(true, false)) {
            LOG.warn("postgres storage {}: failing: {}", settings.describe(), PostgresConnections.describe(e));
        }
        return new StorageException("postgres " + operation + " failed: " + PostgresConnections.describe(e), e);
    }
}
