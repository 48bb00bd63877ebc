package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SharedSessionState.Listener;
import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.BinaryJedisPubSub;
import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * One runner's subscription to the shared-state channel ({@link RedisSharedState}): a dedicated
 * connection named {@value RedisClients#STATE_CLIENT_NAME}, read by a daemon thread of its own.
 *
 * <p>It listens on the server (standalone), the master the Sentinel client writes to, or any
 * master of a Cluster (a Cluster delivers PUBLISH on every node). The listener is told to
 * {@link Listener#resynchronize resynchronize} once each subscription is confirmed, and
 * {@link Listener#disconnected disconnected} once per loss: the server closed the connection, a
 * PING sent every heartbeat went unanswered for {@code read_timeout}, or the Sentinel master
 * changed (what was published meanwhile may be missed). Reconnection backs off from 100 ms to 5 s.
 */
final class RedisStateFeed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RedisStateFeed.class);
    private static final AtomicInteger FEEDS = new AtomicInteger();
    private static final long FIRST_BACKOFF_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 5000;

    private final RedisSettings settings;
    private final TrackedNodes nodes;
    private final byte[] channel;
    private final Listener listener;
    private final Consumer<RedisStateFeed> onClose;
    private final JedisClientConfig config;
    private final long heartbeatMillis;
    private final long answerNanos;
    private final Thread reader;
    private final Object lock = new Object();
    private volatile boolean closed;
    // guarded by lock
    private Connection connection;
    private Subscription subscription;
    /** Whether the listener was told of a loss since the last resynchronize (told once per loss). */
    private boolean lossReported;
    private int attempt;

    RedisStateFeed(RedisSettings settings, Supplier<UnifiedJedis> client, String channel, Listener listener,
            Consumer<RedisStateFeed> onClose) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.nodes = TrackedNodes.of(settings, client);
        this.channel = channel.getBytes(StandardCharsets.UTF_8);
        this.listener = Objects.requireNonNull(listener, "listener");
        this.onClose = onClose;
        this.config = RedisClients.stateFeedConfig(settings);
        this.heartbeatMillis = settings.clientCache().enabled() ? settings.clientCache().heartbeatMillis()
                : RedisSettings.DEFAULT_CLIENT_CACHE_HEARTBEAT;
        this.answerNanos = TimeUnit.MILLISECONDS.toNanos(settings.readTimeoutMillis());
        this.reader = new Thread(this::run, "redis-shared-state-" + FEEDS.incrementAndGet());
        this.reader.setDaemon(true);
    }

    void start() {
        reader.start();
    }

    /** Unsubscribes (closes the connection); the listener hears nothing more. */
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
            HostAndPort node = null;
            try {
                node = pickNode();
                listen(node);
            } catch (JedisException | IllegalStateException e) {
                if (!closed) {
                    lost(node, e);
                }
            }
            closeConnection();
            if (!closed) {
                pause();
            }
        }
    }

    /** The node to listen on: for a Cluster, each attempt tries the next master. */
    private HostAndPort pickNode() {
        List<HostAndPort> candidates = nodes.resolve();
        if (candidates.isEmpty()) {
            throw new JedisConnectionException("no node known yet");
        }
        return candidates.get(Math.floorMod(attempt, candidates.size()));
    }

    /** Subscribes on {@code node} and delivers what it hears until the connection ends. */
    private void listen(HostAndPort node) {
        Subscription sub = new Subscription(node);
        synchronized (lock) {
            // a failed connect must not be reported with the previous subscription's reason
            subscription = null;
        }
        Connection c = new Connection(RedisClients.socketFactory(settings, node, config), config);
        synchronized (lock) {
            if (closed) {
                c.close();
                return;
            }
            connection = c;
            subscription = sub;
        }
        Thread heart = new Thread(() -> heartbeat(sub, node), reader.getName() + "-heartbeat");
        heart.setDaemon(true);
        heart.start();
        try {
            sub.proceed(c, channel);
        } finally {
            heart.interrupt();
        }
        if (!closed) {
            throw new JedisConnectionException("the subscription ended");
        }
    }

    /**
     * Every heartbeat: a PING on the subscription; the connection is closed (and so replaced) when
     * the previous PING has had no answer for {@code read_timeout}, or when the Sentinel client
     * now writes to another master.
     */
    private void heartbeat(Subscription sub, HostAndPort node) {
        try {
            while (!closed) {
                Thread.sleep(heartbeatMillis);
                if (!sub.isSubscribed()) {
                    continue;
                }
                long sent = sub.pingSentNanos;
                if (sent != 0 && System.nanoTime() - sent > answerNanos) {
                    sub.failure = "no answer to PING within read_timeout";
                    closeConnection();
                    return;
                }
                if (!nodes.current(List.of(node))) {
                    sub.failure = "the Sentinel master changed";
                    closeConnection();
                    return;
                }
                if (sent == 0) {
                    sub.pingSentNanos = System.nanoTime();
                    sub.ping();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (JedisException e) {
            // the reader sees the broken connection too and reports it
        }
    }

    private void lost(HostAndPort node, Exception e) {
        attempt++;
        String cause = subscriptionFailure(e);
        boolean report;
        synchronized (lock) {
            report = !lossReported;
            lossReported = true;
        }
        if (report) {
            LOG.warn("redis storage ({}): shared-state feed lost ({}): {}; reconnecting", settings.describe(),
                    node == null ? "no node" : node, cause);
            listener.disconnected(new JedisConnectionException(cause, e));
        } else {
            LOG.debug("redis storage ({}): shared-state feed still down: {}", settings.describe(), cause);
        }
    }

    private String subscriptionFailure(Exception e) {
        Subscription sub;
        synchronized (lock) {
            sub = subscription;
        }
        String why = sub == null ? null : sub.failure;
        return why != null ? why : RedisSessionStorage.describe(e);
    }

    private void pause() {
        long wait = Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << Math.min(6, Math.max(0, attempt - 1)));
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
            c.close();
        }
    }

    private void subscribed(HostAndPort node) {
        boolean recovered;
        synchronized (lock) {
            recovered = lossReported;
            lossReported = false;
            attempt = 0;
        }
        if (recovered) {
            LOG.info("redis storage ({}): shared-state feed back on {}", settings.describe(), node);
        }
        listener.resynchronize();
    }

    private void message(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8);
        Object change = StateMessage.parse(text);
        if (change instanceof Revocation r) {
            listener.revoked(r);
        } else if (change instanceof Marker m) {
            listener.marked(m);
        } else {
            // a foreign publisher on our channel: the copy may be off, so reload it
            LOG.warn("redis storage ({}): unreadable shared-state message ({} bytes); resynchronizing",
                    settings.describe(), body.length);
            listener.resynchronize();
        }
    }

    /** The subscription on one connection; its callbacks run on the reader thread. */
    private final class Subscription extends BinaryJedisPubSub {
        private final HostAndPort node;
        /** When the unanswered PING was sent ({@link System#nanoTime}); 0 when none is waiting. */
        volatile long pingSentNanos;
        /** Why the heartbeat closed the connection; null when it did not. */
        volatile String failure;

        Subscription(HostAndPort node) {
            this.node = node;
        }

        @Override
        public void onSubscribe(byte[] channel, int subscribedChannels) {
            subscribed(node);
        }

        @Override
        public void onMessage(byte[] channel, byte[] message) {
            message(message);
        }

        @Override
        public void onPong(byte[] pattern) {
            pingSentNanos = 0;
        }
    }
}
