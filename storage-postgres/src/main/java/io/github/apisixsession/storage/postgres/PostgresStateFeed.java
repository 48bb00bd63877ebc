package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SharedSessionState.Listener;
import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One runner's LISTEN on the shared-state channel ({@link PostgresSharedState}): a connection of
 * its own, outside the request pool, with {@code application_name} {@value #APPLICATION_NAME},
 * polled by a daemon thread ({@code PGConnection.getNotifications} with a timeout).
 *
 * <p>After each LISTEN the listener is told to {@link Listener#resynchronize resynchronize}; it is
 * told {@link Listener#disconnected disconnected} once per loss: the server ended the connection
 * ({@code pg_terminate_backend}, a restart), or a {@code SELECT 1} sent every
 * {@value #HEARTBEAT_MILLIS} ms without other traffic failed or found no answer within
 * {@code query_timeout}. Reconnection backs off from 100 ms to 5 s.
 */
final class PostgresStateFeed implements AutoCloseable {

    static final String APPLICATION_NAME = "apisix-session-state";
    static final int HEARTBEAT_MILLIS = 1000;
    private static final long FIRST_BACKOFF_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 5000;
    private static final Logger LOG = LoggerFactory.getLogger(PostgresStateFeed.class);
    private static final AtomicInteger FEEDS = new AtomicInteger();

    private final PostgresSettings settings;
    private final String channel;
    private final Listener listener;
    private final Consumer<PostgresStateFeed> onClose;
    private final PGSimpleDataSource dataSource;
    private final Thread reader;
    private final Object lock = new Object();
    private volatile boolean closed;
    // guarded by lock
    private Connection connection;
    // the reader thread's own
    private boolean lossReported;
    private int failures;

    PostgresStateFeed(PostgresSettings settings, String channel, Listener listener, Consumer<PostgresStateFeed> onClose) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.channel = Objects.requireNonNull(channel, "channel");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.onClose = onClose;
        this.dataSource = PostgresConnections.driverDataSource(settings);
        this.dataSource.setApplicationName(APPLICATION_NAME);
        this.reader = new Thread(this::run, "postgres-shared-state-" + FEEDS.incrementAndGet());
        this.reader.setDaemon(true);
    }

    void start() {
        reader.start();
    }

    /** Stops listening (closes the connection); the listener hears nothing more. */
    @Override
    public void close() {
        closed = true;
        reader.interrupt();
        closeConnection();
        if (onClose != null) {
            onClose.accept(this);
        }
    }

    private void run() {
        while (!closed) {
            try {
                listen();
            } catch (SQLException | RuntimeException e) {
                if (!closed) {
                    lost(e);
                }
            }
            closeConnection();
            if (!closed) {
                pause();
            }
        }
    }

    private void listen() throws SQLException {
        Connection c = dataSource.getConnection();
        synchronized (lock) {
            if (closed) {
                c.close();
                return;
            }
            connection = c;
        }
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            // the channel is built from validated lower-case identifiers; quoted, it is taken as is
            st.execute("LISTEN \"" + channel + "\"");
        }
        PGConnection pg = c.unwrap(PGConnection.class);
        if (lossReported) {
            LOG.info("postgres storage {}: shared-state feed back", settings.describe());
        }
        lossReported = false;
        failures = 0;
        listener.resynchronize();
        while (!closed) {
            PGNotification[] heard = pg.getNotifications(HEARTBEAT_MILLIS);
            if (heard == null || heard.length == 0) {
                // quiet: make sure the server is still there (bounded by the socket timeout)
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
                continue;
            }
            for (PGNotification n : heard) {
                if (channel.equals(n.getName())) {
                    deliver(n.getParameter());
                }
            }
        }
    }

    private void deliver(String payload) {
        Object change = StateNotification.parse(payload);
        if (change instanceof Revocation r) {
            listener.revoked(r);
        } else if (change instanceof Marker m) {
            listener.marked(m);
        } else {
            if (change == null) {
                LOG.warn("postgres storage {}: unreadable shared-state notification ({} chars); resynchronizing",
                        settings.describe(), payload.length());
            }
            // too long to be sent, or garbled: reload everything
            listener.resynchronize();
        }
    }

    private void lost(Exception e) {
        failures++;
        String cause = PostgresConnections.describe(e);
        if (!lossReported) {
            lossReported = true;
            LOG.warn("postgres storage {}: shared-state feed lost: {}; reconnecting", settings.describe(), cause);
            listener.disconnected(e);
        } else {
            LOG.debug("postgres storage {}: shared-state feed still down: {}", settings.describe(), cause);
        }
    }

    private void pause() {
        long wait = Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << Math.min(6, Math.max(0, failures - 1)));
        try {
            Thread.sleep(wait);
        } catch (InterruptedException e) {
            // closing
        }
    }

    private void closeConnection() {
        Connection c;
        synchronized (lock) {
            c = connection;
            connection = null;
        }
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // it is being dropped anyway
            }
        }
    }
}
