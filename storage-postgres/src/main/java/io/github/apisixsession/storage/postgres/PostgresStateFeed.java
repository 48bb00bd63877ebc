package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.SharedSessionState.Listener;
import io.github.apisixsession.storage.SharedStateFeed;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
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
 * {@code query_timeout}. Reconnection and its logging are {@link SharedStateFeed}'s.
 */
final class PostgresStateFeed extends SharedStateFeed {

    static final String APPLICATION_NAME = "apisix-session-state";
    static final int HEARTBEAT_MILLIS = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(PostgresStateFeed.class);

    private final String channel;
    private final PGSimpleDataSource dataSource;

    PostgresStateFeed(PostgresSettings settings, String channel, Listener listener) {
        super("postgres storage " + settings.describe(), "postgres", new Log(LOG::warn, LOG::info, LOG::debug),
                listener);
        this.channel = Objects.requireNonNull(channel, "channel");
        this.dataSource = PostgresConnections.driverDataSource(settings);
        this.dataSource.setApplicationName(APPLICATION_NAME);
    }

    @Override
    protected void listen() throws SQLException {
        Connection c = dataSource.getConnection();
        if (!adopt(c)) {
            return;
        }
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            // the channel is built from validated lower-case identifiers; quoted, it is taken as is
            st.execute("LISTEN \"" + channel + "\"");
        }
        PGConnection pg = c.unwrap(PGConnection.class);
        subscribed("LISTEN " + channel);
        while (!closed()) {
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
                    String payload = n.getParameter();
                    // too long to be sent (RELOAD) or garbled (null): the listener reloads everything
                    deliver(StateNotification.parse(payload), "notification (" + payload.length() + " chars)");
                }
            }
        }
    }

    @Override
    protected String describe(Exception e) {
        return PostgresConnections.describe(e);
    }
}
