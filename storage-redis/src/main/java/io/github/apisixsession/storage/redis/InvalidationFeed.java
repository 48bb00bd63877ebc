package io.github.apisixsession.storage.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Redis' word on which keys under a prefix changed, for everything in this runner that keeps a
 * local copy of them: one RESP3 connection per tracked node ({@link TrackedNodes}) in
 * {@code CLIENT TRACKING on BCAST PREFIX <prefix>} mode, so the server announces every write,
 * delete or expiry of a matching key, whoever made it, without the data connections doing
 * anything.
 *
 * <p>Whether what was heard is complete is the {@linkplain #ticket state}: tracking is live on
 * every node, in a generation that changes on every loss and every re-establishment, and a PING
 * sent at most {@code heartbeat + read_timeout} ago has been answered on every node (replies and
 * pushes share a connection, so an answered PING means every invalidation for writes before it has
 * been handled). Any loss (the server closed the connection, no answer within {@code read_timeout},
 * the Sentinel master or the Cluster's masters changed, the node is no longer a master) tells every
 * listener to {@link Listener#reset reset} before anything else, and tracking is set up again on
 * the next heartbeat.
 *
 * <p>Listeners also learn when tracking is (again) established, so something that keeps a full
 * copy (a set of revoked sessions, say) can reload it. Everything runs on this feed's own daemon
 * threads: one timer (heartbeats, reconnects) and one reader per node.
 */
final class InvalidationFeed implements AutoCloseable {

    /** What the feed tells the caches built on it. Called on the feed's threads; must not block. */
    interface Listener {
        /** These keys changed at the server; null: every key did ({@code FLUSHALL}, {@code FLUSHDB}). */
        void invalidated(List<byte[]> keys);

        /** What was heard may be incomplete: drop everything learned through the feed. */
        void reset(String reason);

        /** Tracking is live again: every later change will be heard. */
        default void established() {
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(InvalidationFeed.class);
    private static final AtomicInteger FEEDS = new AtomicInteger();
    private static final byte[] INVALIDATE = "invalidate".getBytes(StandardCharsets.US_ASCII);
    private static final CommandArguments PING = new CommandArguments(Protocol.Command.PING);

    private final RedisSettings settings;
    private final TrackedNodes nodes;
    private final JedisClientConfig config;
    private final CommandArguments tracking;
    private final LongSupplier ticker;
    private final long heartbeatMillis;
    private final long leaseNanos;
    private final long answerNanos;
    /** After the server refused tracking (Redis 5, an ACL), ask again this rarely. */
    private final long refusedRetryNanos;
    private final String name;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService timer;
    private final AtomicBoolean started = new AtomicBoolean();

    /** Odd: tracking is live in that generation; even: it is not. Every transition adds one. */
    private final AtomicLong state = new AtomicLong();
    /** When the latest PING answered on every node was sent (ticker time); meaningful while live. */
    private volatile long confirmedNanos;
    private volatile List<HostAndPort> tracked = List.of();
    private volatile boolean closed;

    /** The current or latest generation's connections; replaced by the timer thread only. */
    private volatile Session session;
    // the timer thread's own
    private long nextAttemptNanos;
    private String lastRefusal;
    private boolean everEstablished;

    InvalidationFeed(RedisSettings settings, TrackedNodes nodes, LongSupplier ticker) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.nodes = Objects.requireNonNull(nodes, "nodes");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.config = RedisClients.trackingConfig(settings);
        CommandArguments t = new CommandArguments(Protocol.Command.CLIENT).add("TRACKING").add("on").add("BCAST");
        if (settings.prefix() != null) {
            t.add("PREFIX").add(settings.prefix() + ":");
        }
        this.tracking = t;
        this.heartbeatMillis = settings.clientCache().heartbeatMillis();
        this.answerNanos = TimeUnit.MILLISECONDS.toNanos(settings.readTimeoutMillis());
        this.leaseNanos = TimeUnit.MILLISECONDS.toNanos(heartbeatMillis) + answerNanos;
        this.refusedRetryNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(1000, Math.min(30_000, 10 * heartbeatMillis)));
        this.name = "redis-tracking-" + FEEDS.incrementAndGet();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, name);
            th.setDaemon(true);
            return th;
        });
    }

    void addListener(Listener l) {
        listeners.add(Objects.requireNonNull(l, "listener"));
    }

    /** Starts connecting (in the background); later calls do nothing. */
    void start() {
        if (!started.get() && started.compareAndSet(false, true) && !closed) {
            timer.scheduleWithFixedDelay(this::beat, 0, heartbeatMillis, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The current generation when a local copy may be trusted at {@code nowNanos} (ticker time):
     * tracking live, the lease of the latest answered heartbeat not run out, reads going where the
     * feed listens; else -1. A copy read in generation {@code g} may be served while this returns {@code g}.
     */
    long ticket(long nowNanos) {
        long s = state.get();
        if ((s & 1) == 0 || nowNanos - confirmedNanos > leaseNanos || !nodes.current(tracked)) {
            return -1;
        }
        return s;
    }

    /** Whether tracking is live (for tests and the statistics). */
    boolean live() {
        return (state.get() & 1) == 1;
    }

    /** The nodes tracked in the current or latest generation. */
    List<HostAndPort> trackedNodes() {
        return tracked;
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Session s = session;
        if (s != null) {
            s.closeLinks();
        }
        long st = state.get();
        if ((st & 1) == 1) {
            state.compareAndSet(st, st + 1);
        }
    }

    // ---------------------------------------------------------------- the timer thread

    private void beat() {
        try {
            if (closed) {
                return;
            }
            Session s = session;
            if (s == null || s.dead) {
                if (s != null) {
                    s.closeLinks();
                    session = null;
                }
                connect();
            } else {
                check(s);
            }
        } catch (RuntimeException e) {
            // a failed beat must not cancel the next ones
            LOG.warn("redis storage ({}): client cache heartbeat failed: {}", settings.describe(),
                    RedisCalls.describe(e));
        }
    }

    private void check(Session s) {
        for (Link link : s.links) {
            OptionalLong oldest = link.connection.oldestPendingNanos();
            if (oldest.isPresent() && System.nanoTime() - oldest.getAsLong() > answerNanos) {
                s.lose("no answer from " + link.connection.node() + " within read_timeout");
                return;
            }
        }
        if (!nodes.current(s.nodes)) {
            s.lose("the Sentinel master moved away from " + s.nodes.get(0));
            return;
        }
        for (Link link : s.links) {
            long sent = ticker.getAsLong();
            link.connection.send(PING).thenRun(() -> s.answered(link, sent));
        }
        CommandArguments probe = nodes.probe();
        if (probe != null) {
            Link first = s.links.get(0);
            first.connection.send(probe).thenAccept(reply -> {
                if (nodes.changed(reply, first.connection.node(), s.nodes)) {
                    s.lose("the cluster's masters changed");
                }
            });
        }
    }

    private void connect() {
        long now = System.nanoTime();
        if (now - nextAttemptNanos < 0) {
            return;
        }
        long down = state.get();
        if ((down & 1) == 1) {
            return; // the session's loss is being recorded on its reader thread: next beat
        }
        Session s;
        try {
            List<HostAndPort> targets = nodes.resolve();
            if (targets.isEmpty()) {
                return;
            }
            s = new Session(down + 1, targets);
            s.confirmed = ticker.getAsLong();
            for (HostAndPort node : targets) {
                s.links.add(new Link(open(node, s)));
            }
        } catch (JedisDataException e) {
            refused(e);
            return;
        } catch (RuntimeException e) {
            LOG.debug("redis storage ({}): client cache not tracking yet: {}", settings.describe(),
                    RedisCalls.describe(e));
            return;
        }
        if (closed) {
            s.closeLinks();
            return;
        }
        for (Link link : s.links) {
            link.confirmed = s.confirmed;
        }
        confirmedNanos = s.confirmed;
        tracked = s.nodes;
        session = s;
        lastRefusal = null;
        state.compareAndSet(down, s.epoch);
        if (s.dead) {
            // a connection ended while the others were being set up
            s.lose(s.deathReason);
            return;
        }
        LOG.info("redis storage ({}): client cache {}: tracking {} for invalidations", settings.describe(),
                everEstablished ? "resumed" : "on", s.nodes);
        everEstablished = true;
        for (Listener l : listeners) {
            l.established();
        }
    }

    private PushConnection open(HostAndPort node, Session s) {
        List<CommandArguments> setup = new ArrayList<>(nodes.setupChecks());
        int checks = setup.size();
        setup.add(tracking); // last: invalidations follow its reply
        int[] seen = {0};
        try {
            return PushConnection.open(node, RedisClients.socketFactory(settings, node, config), config, setup, reply -> {
                if (seen[0]++ < checks) {
                    nodes.checkSetup(reply);
                }
            }, s, name + "-" + node);
        } catch (RuntimeException e) {
            s.closeLinks();
            throw e;
        }
    }

    private void refused(JedisDataException e) {
        nextAttemptNanos = System.nanoTime() + refusedRetryNanos;
        String m = RedisCalls.describe(e);
        if (!m.equals(lastRefusal)) {
            lastRefusal = m;
            LOG.warn("redis storage ({}): client cache off, the server refused CLIENT TRACKING: {} (it needs Redis 6 "
                    + "or later and the client command); reads go to Redis", settings.describe(), m);
        }
    }

    // ---------------------------------------------------------------- one generation's connections

    private static final class Link {
        final PushConnection connection;
        volatile long confirmed;

        Link(PushConnection connection) {
            this.connection = connection;
        }
    }

    /** The connections of one attempt to track every node; live as generation {@link #epoch} once all are up. */
    private final class Session implements PushConnection.Handler {
        final long epoch;
        final List<HostAndPort> nodes;
        final List<Link> links = new CopyOnWriteArrayList<>();
        long confirmed;
        volatile boolean dead;
        volatile String deathReason;

        Session(long epoch, List<HostAndPort> nodes) {
            this.epoch = epoch;
            this.nodes = List.copyOf(nodes);
        }

        @Override
        public void pushed(PushConnection from, List<Object> push) {
            if (push.size() == 2 && push.get(0) instanceof byte[] kind && Arrays.equals(kind, INVALIDATE)) {
                @SuppressWarnings("unchecked")
                List<byte[]> keys = push.get(1) instanceof List<?> l ? (List<byte[]>) l : null;
                for (Listener l : listeners) {
                    l.invalidated(keys);
                }
            }
        }

        @Override
        public void ended(PushConnection from, String reason) {
            lose("the connection to " + from.node() + " ended: " + reason);
        }

        void answered(Link link, long sentNanos) {
            link.confirmed = sentNanos;
            if (state.get() == epoch) {
                long min = Long.MAX_VALUE;
                for (Link l : links) {
                    min = Math.min(min, l.confirmed);
                }
                confirmedNanos = min;
            }
        }

        /** Ends this generation (once), telling every listener before anything else. */
        void lose(String reason) {
            deathReason = reason;
            dead = true;
            if (state.compareAndSet(epoch, epoch + 1)) {
                for (Listener l : listeners) {
                    l.reset(reason);
                }
                LOG.info("redis storage ({}): client cache dropped: {}; reads go to Redis until tracking is back",
                        settings.describe(), reason);
                closeLinks();
                try {
                    timer.execute(InvalidationFeed.this::beat);
                } catch (RejectedExecutionException e) {
                    // closing
                }
            }
        }

        void closeLinks() {
            for (Link l : links) {
                l.connection.close();
            }
        }
    }
}
