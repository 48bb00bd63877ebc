package io.github.apisixsession.storage;

import io.github.apisixsession.storage.SharedSessionState.Listener;
import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One runner's subscription to a store's shared-state changes, for a
 * {@link SharedSessionState#watch}: a connection of its own, read by a daemon thread that
 * reconnects after every loss, backing off from 100 ms to 1 s (a fail-closed route answers 503
 * until the feed is back, so it retries as often as the storages' circuit breaker does).
 *
 * <p>A store says how to {@link #listen()} once (connect, {@link #adopt} the connection, subscribe,
 * deliver until the connection ends); this class closes it from any thread ({@link #dropConnection()})
 * and keeps the rules every
 * store shares: the listener is told to {@link Listener#resynchronize resynchronize} on each
 * subscription, {@link Listener#disconnected disconnected} once per loss (a WARN then, DEBUG
 * while it stays down, an INFO when it is back), and nothing after {@link #close()}.
 */
public abstract class SharedStateFeed implements AutoCloseable {

    private static final AtomicInteger FEEDS = new AtomicInteger();
    private static final long FIRST_BACKOFF_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 1000;

    private final String storage;
    private final Log log;
    private final Listener listener;
    private final Thread reader;
    private volatile boolean closed;
    private volatile Consumer<SharedStateFeed> onClose;
    private final Object connectionLock = new Object();
    // guarded by connectionLock
    private AutoCloseable connection;
    // the reader thread's own
    private boolean lossReported;
    private int failures;

    /**
     * @param storage  the store as logs name it, e.g. {@code redis storage (127.0.0.1:6379)}
     * @param kind     names the reader thread, e.g. {@code redis}
     * @param log      the store's logger
     */
    protected SharedStateFeed(String storage, String kind, Log log, Listener listener) {
        this.storage = Objects.requireNonNull(storage, "storage");
        this.log = Objects.requireNonNull(log, "log");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.reader = new Thread(this::run, kind + "-shared-state-" + FEEDS.incrementAndGet());
        this.reader.setDaemon(true);
    }

    /** Where the feed's lines go, e.g. {@code new Log(LOG::warn, LOG::info, LOG::debug)} (this module logs through no library). */
    public record Log(Consumer<String> warn, Consumer<String> info, Consumer<String> debug) {
        public Log {
            Objects.requireNonNull(warn, "warn");
            Objects.requireNonNull(info, "info");
            Objects.requireNonNull(debug, "debug");
        }
    }

    /**
     * Connects, subscribes, calls {@link #subscribed} once the store confirms it, and delivers
     * what it hears with {@link #deliver} until the connection ends: returns or throws then.
     */
    protected abstract void listen() throws Exception;

    /**
     * Keeps {@code c} as the connection {@link #dropConnection()} closes.
     *
     * @return false, with {@code c} closed, when this feed was closed meanwhile
     */
    protected final boolean adopt(AutoCloseable c) {
        synchronized (connectionLock) {
            if (!closed) {
                connection = c;
                return true;
            }
        }
        closeQuietly(c);
        return false;
    }

    /** Closes the current connection, if any, from any thread; {@link #listen()} then ends. */
    protected final void dropConnection() {
        AutoCloseable c;
        synchronized (connectionLock) {
            c = connection;
            connection = null;
        }
        if (c != null) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // it is being dropped anyway
        }
    }

    /** A short cause for the logs and the listener, naming no secret. */
    protected abstract String describe(Exception e);

    /** What the listener is told the loss was; the failure itself unless a store knows better. */
    protected Throwable lossCause(Exception e, String described) {
        return e;
    }

    /** The name of the reader thread (a store's helper threads derive theirs from it). */
    protected final String threadName() {
        return reader.getName();
    }

    protected final boolean closed() {
        return closed;
    }

    /** Failed attempts since the last subscription (a store may try another node on each). */
    protected final int failures() {
        return failures;
    }

    /** Starts the reader thread; once only. */
    public final void start() {
        reader.start();
    }

    /** Stops listening (drops the connection); the listener hears nothing more. */
    @Override
    public final void close() {
        closed = true;
        reader.interrupt();
        dropConnection();
        Consumer<SharedStateFeed> c = onClose;
        if (c != null) {
            c.accept(this);
        }
    }

    /** Called with this feed once it is closed ({@link SharedStateFeeds} forgets it). */
    final void onClose(Consumer<SharedStateFeed> callback) {
        this.onClose = callback;
    }

    private void run() {
        while (!closed) {
            try {
                listen();
            } catch (Exception e) {
                if (!closed) {
                    lost(e);
                }
            }
            dropConnection();
            if (!closed) {
                pause();
            }
        }
    }

    /** The store confirmed the subscription on {@code where}: changes may have been missed, reload. */
    protected final void subscribed(Object where) {
        if (lossReported) {
            log.info().accept(storage + ": shared-state feed back on " + where);
        }
        lossReported = false;
        failures = 0;
        listener.resynchronize();
    }

    /**
     * Hands a parsed change to the listener: a {@link Revocation} or a {@link Marker}; anything
     * else (a reload request, or {@code null} for what could not be read) makes it resynchronize.
     */
    protected final void deliver(Object change, String unreadable) {
        if (change instanceof Revocation r) {
            listener.revoked(r);
        } else if (change instanceof Marker m) {
            listener.marked(m);
        } else {
            if (change == null) {
                // a foreign publisher or a garbled payload: the copy may be off, so reload it
                log.warn().accept(storage + ": unreadable shared-state " + unreadable + "; resynchronizing");
            }
            listener.resynchronize();
        }
    }

    private void lost(Exception e) {
        failures++;
        String cause = describe(e);
        if (!lossReported) {
            lossReported = true;
            log.warn().accept(storage + ": shared-state feed lost: " + cause + "; reconnecting");
            listener.disconnected(lossCause(e, cause));
        } else {
            log.debug().accept(storage + ": shared-state feed still down: " + cause);
        }
    }

    /** The wait before the next attempt after {@code failures} failed ones in a row. */
    static long backoffMillis(int failures) {
        return Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << Math.min(6, Math.max(0, failures - 1)));
    }

    private void pause() {
        try {
            Thread.sleep(backoffMillis(failures));
        } catch (InterruptedException e) {
            // closing
        }
    }
}
