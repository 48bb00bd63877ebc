package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SharedSessionState.Listener;
import io.github.apisixsession.storage.SharedStateFeed;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * changed (what was published meanwhile may be missed). Reconnection and its logging are
 * {@link SharedStateFeed}'s.
 */
final class RedisStateFeed extends SharedStateFeed {

    private static final Logger LOG = LoggerFactory.getLogger(RedisStateFeed.class);

    private final RedisSettings settings;
    private final TrackedNodes nodes;
    private final byte[] channel;
    private final JedisClientConfig config;
    private final long heartbeatMillis;
    private final long answerNanos;
    /** The subscription being made or listened to; null while none (its failure names the loss). */
    private volatile Subscription subscription;
    /** The node of the latest attempt, for the logs. */
    private volatile HostAndPort node;

    RedisStateFeed(RedisSettings settings, Supplier<UnifiedJedis> client, String channel, Listener listener) {
        super("redis storage (" + settings.describe() + ")", "redis", new Log(LOG::warn, LOG::info, LOG::debug),
                listener);
        this.settings = settings;
        this.nodes = TrackedNodes.of(settings, client);
        this.channel = channel.getBytes(StandardCharsets.UTF_8);
        this.config = RedisClients.stateFeedConfig(settings);
        this.heartbeatMillis = settings.clientCache().enabled() ? settings.clientCache().heartbeatMillis()
                : RedisSettings.DEFAULT_CLIENT_CACHE_HEARTBEAT;
        this.answerNanos = TimeUnit.MILLISECONDS.toNanos(settings.readTimeoutMillis());
    }

    /** Subscribes on the next node and delivers what it hears until the connection ends. */
    @Override
    protected void listen() {
        // a failed connect must not be reported with the previous subscription's reason
        subscription = null;
        node = null;
        HostAndPort at = pickNode();
        node = at;
        Subscription sub = new Subscription(at);
        Connection c = new Connection(RedisClients.socketFactory(settings, at, config), config);
        subscription = sub;
        if (!adopt(c)) {
            return;
        }
        Thread heart = new Thread(() -> heartbeat(sub, at), threadName() + "-heartbeat");
        heart.setDaemon(true);
        heart.start();
        try {
            sub.proceed(c, channel);
        } finally {
            heart.interrupt();
        }
        if (!closed()) {
            throw new JedisConnectionException("the subscription ended");
        }
    }

    /** The node to listen on: for a Cluster, each attempt tries the next master. */
    private HostAndPort pickNode() {
        List<HostAndPort> candidates = nodes.resolve();
        if (candidates.isEmpty()) {
            throw new JedisConnectionException("no node known yet");
        }
        return candidates.get(Math.floorMod(failures(), candidates.size()));
    }

    /**
     * Every heartbeat: a PING on the subscription; the connection is closed (and so replaced) when
     * the previous PING has had no answer for {@code read_timeout}, or when the Sentinel client
     * now writes to another master.
     */
    private void heartbeat(Subscription sub, HostAndPort at) {
        try {
            while (!closed()) {
                Thread.sleep(heartbeatMillis);
                if (!sub.isSubscribed()) {
                    continue;
                }
                long sent = sub.pingSentNanos;
                if (sent != 0 && System.nanoTime() - sent > answerNanos) {
                    sub.failure = "no answer to PING within read_timeout";
                    dropConnection();
                    return;
                }
                if (!nodes.current(List.of(at))) {
                    sub.failure = "the Sentinel master changed";
                    dropConnection();
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

    /** The heartbeat's reason when it closed the connection, else the failure; with the node. */
    @Override
    protected String describe(Exception e) {
        Subscription sub = subscription;
        String why = sub == null ? null : sub.failure;
        HostAndPort at = node;
        return (at == null ? "no node" : "on " + at) + ": " + (why != null ? why : RedisCalls.describe(e));
    }

    @Override
    protected Throwable lossCause(Exception e, String described) {
        return new JedisConnectionException(described, e);
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
            deliver(StateMessage.parse(new String(message, StandardCharsets.UTF_8)),
                    "message (" + message.length + " bytes)");
        }

        @Override
        public void onPong(byte[] pattern) {
            pingSentNanos = 0;
        }
    }
}
