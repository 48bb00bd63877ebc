package io.github.apisixsession.storage.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL's word on which session rows changed: one connection of its own (outside the pool)
 * that {@code LISTEN}s on the channel the sessions table's trigger announces every UPDATE and
 * DELETE on ({@link PostgresSettings#notifyChannel()}, {@code migrations/V2__notify.sql}), read by
 * one daemon thread with {@code PGConnection.getNotifications(timeout)}.
 *
 * <p>Whether what was heard is complete is the {@linkplain #ticket state}: the connection is
 * listening, in a generation that changes on every loss and every re-establishment, and a
 * heartbeat query sent at most {@code client_cache_heartbeat + query_timeout} ago has been
 * answered. The heartbeat also checks that the server is a primary and that the trigger is still
 * there and enabled: without it nothing would be announced. Notifications and replies share the
 * connection and the server sends the pending ones before it says it is ready again, so an answered
 * heartbeat means every change committed before it was sent has been handled. Any loss (the
 * connection ended or failed, no answer within {@code query_timeout}, the trigger gone) tells
 * every listener to {@link Listener#reset reset}; the thread connects again after a heartbeat.
 */
final class NotificationFeed implements AutoCloseable {

    /** What the feed tells the cache built on it. Called on the feed's thread; must not block. */
    interface Listener {
        /** The row of this key was updated or deleted. */
        void invalidated(String key);

        /** What was heard may be incomplete: drop everything learned through the feed. */
        void reset(String reason);
    }

    private static final Logger LOG = LoggerFactory.getLogger(NotificationFeed.class);
    private static final AtomicInteger FEEDS = new AtomicInteger();
    private static final String CHECK = "SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM pg_trigger "
            + "WHERE tgrelid = to_regclass(?) AND tgname = ? AND tgenabled <> 'D')";

    private final PostgresSettings settings;
    private final DataSource dataSource;
    private final LongSupplier ticker;
    private final String channel;
    private final long heartbeatMillis;
    private final long leaseNanos;
    /** After the trigger was found missing, look again this rarely. */
    private final long refusedRetryMillis;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private final AtomicBoolean started = new AtomicBoolean();

    /** Odd: listening in that generation; even: not. Every transition adds one. */
    private final AtomicLong state = new AtomicLong();
    /** When the latest answered heartbeat was sent (ticker time); meaningful while listening. */
    private volatile long confirmedNanos;
    private volatile Connection connection;
    private volatile int backendPid = -1;
    private volatile boolean closed;
    // the feed thread's own
    private String lastRefusal;
    private boolean everEstablished;

    /** @param dataSource unpooled: every {@code getConnection()} opens a new physical connection */
    NotificationFeed(PostgresSettings settings, DataSource dataSource, LongSupplier ticker) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.channel = settings.notifyChannel();
        this.heartbeatMillis = settings.clientCache().heartbeatMillis();
        this.leaseNanos = TimeUnit.MILLISECONDS.toNanos(heartbeatMillis) + settings.queryTimeout().toNanos();
        this.refusedRetryMillis = Math.max(1000, Math.min(30_000, 10L * heartbeatMillis));
        this.thread = new Thread(this::run, "postgres-listen-" + FEEDS.incrementAndGet());
        thread.setDaemon(true);
    }

    void addListener(Listener l) {
        listeners.add(Objects.requireNonNull(l, "listener"));
    }

    /** Starts connecting (in the background); later calls do nothing. */
    void start() {
        if (!started.get() && started.compareAndSet(false, true) && !closed) {
            thread.start();
        }
    }

    /**
     * The current generation when a local copy may be trusted at {@code nowNanos} (ticker time):
     * listening, and the lease of the latest answered heartbeat not run out; else -1.
     */
    long ticket(long nowNanos) {
        long s = state.get();
        return (s & 1) == 0 || nowNanos - confirmedNanos > leaseNanos ? -1 : s;
    }

    /** Whether the connection is listening (tests, statistics). */
    boolean live() {
        return (state.get() & 1) == 1;
    }

    /** The server process of the listening connection, or -1 (tests end it with pg_terminate_backend). */
    int backendPid() {
        return live() ? backendPid : -1;
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        abort(connection);
        try {
            if (started.get()) {
                thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- the feed thread

    private void run() {
        while (!closed) {
            long pause = heartbeatMillis;
            try {
                pause = listen();
            } catch (RuntimeException e) {
                // the thread must outlive any surprise: the next round starts afresh
                LOG.warn("postgres storage {}: client cache listener failed: {}", settings.describe(), e.toString());
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                return; // closing
            }
        }
    }

    /** One connection's life: connect, LISTEN, check, then read until it is lost. Returns the pause before the next. */
    private long listen() {
        long down = state.get();
        long epoch = down + 1;
        Connection c = null;
        String reason = "closed";
        try {
            c = dataSource.getConnection();
            connection = c;
            if (closed) {
                return 0;
            }
            PGConnection pg = c.unwrap(PGConnection.class);
            try (Statement st = c.createStatement()) {
                // named apart from the pool's connections in pg_stat_activity
                st.execute("SET application_name TO '" + PostgresConnections.APPLICATION_NAME + "-listen'");
                st.execute("LISTEN \"" + channel + "\"");
            }
            try (PreparedStatement check = c.prepareStatement(CHECK)) {
                check.setString(1, settings.schema() + "." + settings.sessionsTable());
                check.setString(2, settings.notifyTrigger());
                long sent = ticker.getAsLong();
                String refusal = problem(check);
                if (refusal != null) {
                    refused(refusal);
                    return refusedRetryMillis;
                }
                backendPid = pg.getBackendPID();
                confirmedNanos = sent;
                lastRefusal = null;
                if (!state.compareAndSet(down, epoch)) {
                    return heartbeatMillis;
                }
                LOG.info("postgres storage {}: client cache {}: listening on channel {}", settings.describe(),
                        everEstablished ? "resumed" : "on", channel);
                everEstablished = true;
                readUntilLost(c, pg, check);
            }
        } catch (SQLException | RuntimeException e) {
            reason = PostgresConnections.describe(e);
            if (!live()) {
                LOG.debug("postgres storage {}: client cache not listening yet: {}", settings.describe(), reason);
            }
        } finally {
            lose(epoch, reason);
            abort(c);
            connection = null;
        }
        return heartbeatMillis;
    }

    private void readUntilLost(Connection c, PGConnection pg, PreparedStatement check) throws SQLException {
        long nextBeat = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(heartbeatMillis);
        while (!closed) {
            long wait = TimeUnit.NANOSECONDS.toMillis(nextBeat - System.nanoTime());
            if (wait > 0) {
                handle(pg.getNotifications((int) wait));
                continue;
            }
            long sent = ticker.getAsLong();
            String problem = problem(check);
            handle(pg.getNotifications()); // those that came with the answer
            if (problem != null) {
                throw new SQLException(problem);
            }
            confirmedNanos = sent;
            nextBeat = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(heartbeatMillis);
        }
    }

    /** Why the cache cannot be trusted on this server, or null. */
    private String problem(PreparedStatement check) throws SQLException {
        try (ResultSet rs = check.executeQuery()) {
            rs.next();
            if (rs.getBoolean(1)) {
                return "the server is a standby (in recovery)";
            }
            if (!rs.getBoolean(2)) {
                return "the trigger " + settings.notifyTrigger() + " on " + settings.schema() + "."
                        + settings.sessionsTable() + " is missing or disabled (migrations/V2__notify.sql)";
            }
            return null;
        }
    }

    private void handle(PGNotification[] notifications) {
        if (notifications == null) {
            return;
        }
        for (PGNotification n : notifications) {
            if (channel.equals(n.getName())) {
                for (Listener l : listeners) {
                    l.invalidated(n.getParameter());
                }
            }
        }
    }

    private void refused(String why) {
        if (!why.equals(lastRefusal)) {
            lastRefusal = why;
            LOG.warn("postgres storage {}: client cache off: {}; reads go to the database", settings.describe(), why);
        }
    }

    /** Ends generation {@code epoch} (if it is the current one), telling every listener first. */
    private void lose(long epoch, String reason) {
        if (state.compareAndSet(epoch, epoch + 1)) {
            for (Listener l : listeners) {
                l.reset(reason);
            }
            if (!closed) {
                LOG.info("postgres storage {}: client cache dropped: {}; reads go to the database until it "
                        + "listens again", settings.describe(), reason);
            }
        }
    }

    private static void abort(Connection c) {
        if (c != null) {
            try {
                c.abort(Runnable::run);
            } catch (SQLException | RuntimeException e) {
                // already gone
            }
        }
    }
}
