package io.github.apisixsession.storage.postgres;

import static io.github.apisixsession.storage.postgres.jooq.Tables.APISIX_SESSIONS;

import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.postgres.jooq.tables.ApisixSessions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes a storage's expired rows: by a daemon thread every {@code cleanup_interval} (none when
 * it is 0), in batches of {@code cleanup_batch_size} ({@code LIMIT n FOR UPDATE SKIP LOCKED}, so
 * runners sharing the database never wait for each other), on a connection of its own: request
 * threads never wait for it.
 */
final class ExpiredRowsCleanup implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ExpiredRowsCleanup.class);
    private static final ApisixSessions S = APISIX_SESSIONS;
    private static final AtomicInteger CLEANERS = new AtomicInteger();

    private final PostgresSettings settings;
    private final DataSource unpooled;
    private final Settings jooqSettings;
    private final ScheduledExecutorService cleaner;
    private volatile boolean closed;
    /** The shared state's tables, once a route uses them. */
    private volatile PostgresSharedState shared;

    ExpiredRowsCleanup(PostgresSettings settings, DataSource unpooled, Settings jooqSettings) {
        this.settings = settings;
        this.unpooled = unpooled;
        this.jooqSettings = jooqSettings;
        if (settings.cleanupInterval().isZero()) {
            this.cleaner = null;
            return;
        }
        this.cleaner = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "apisix-session-postgres-cleanup-" + CLEANERS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        long period = settings.cleanupInterval().toMillis();
        // runners started together spread their cleanups over the interval
        long first = ThreadLocalRandom.current().nextLong(period / 2, period + 1);
        cleaner.scheduleWithFixedDelay(this::scheduled, first, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Deletes expired rows in batches until a batch comes back short (or the storage closes), on
     * one connection of its own. Rows another runner is deleting (locked) are skipped.
     *
     * @return the number of rows deleted
     */
    long run() throws SQLException {
        long total = 0;
        try (Connection c = unpooled.getConnection()) {
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
            } while (deleted >= batch && !closed);
            PostgresSharedState state = shared;
            if (state != null && !closed) {
                total += state.cleanUpExpired(c, batch, () -> closed);
            }
            return total;
        }
    }

    private void scheduled() {
        if (closed) {
            return;
        }
        try {
            long n = run();
            if (n > 0) {
                LOG.debug("postgres storage {}: deleted {} expired sessions", settings.describe(), n);
            }
        } catch (SQLException | RuntimeException e) {
            // the next round tries again; requests are not affected
            LOG.warn("postgres storage {}: cleanup of expired sessions failed: {}", settings.describe(),
                    PostgresConnections.describe(e));
        }
    }

    /** From now on, also deletes the expired revocations, markers and counters of {@code state}. */
    void alsoClean(PostgresSharedState state) {
        this.shared = state;
    }

    /** Whether the cleanup thread is scheduled (not after {@link #close()}). */
    boolean running() {
        return cleaner != null && !cleaner.isShutdown();
    }

    @Override
    public void close() {
        closed = true;
        if (cleaner != null) {
            cleaner.shutdownNow();
            try {
                cleaner.awaitTermination(settings.queryTimeout().toMillis() + 1_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
