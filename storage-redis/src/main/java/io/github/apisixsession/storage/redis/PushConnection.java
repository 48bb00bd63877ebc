package io.github.apisixsession.storage.redis;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisSocketFactory;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.RedisInputStream;

/**
 * One RESP3 connection to one Redis node whose every incoming frame is read by a thread of its
 * own: server pushes (invalidation messages, and pub/sub messages for whoever subscribes) go to a
 * handler as they arrive, replies complete the commands sent with {@link #send}, in order.
 *
 * <p>Built on Jedis' {@link Connection} (HELLO 3, AUTH, SELECT, TLS and unix sockets as for the data
 * connections); Jedis' own reader drops the push marker, so frames are told apart here by peeking
 * at the first byte. The connection never times out a read: whoever owns it decides when silence
 * means it is dead ({@link #oldestPendingNanos}) and closes it.
 */
final class PushConnection implements AutoCloseable {

    /** What the reader thread reports. Both methods run on that thread. */
    interface Handler {
        /** A server push, e.g. {@code ["invalidate", [key, …]]}; elements are {@code byte[]}, {@code Long}, lists or null. */
        void pushed(PushConnection from, List<Object> push);

        /** The connection ended without {@link #close} (the server closed it, the network failed, a reply was garbled). */
        void ended(PushConnection from, String reason);
    }

    private final HostAndPort node;
    private final Wire wire;
    private final Handler handler;
    /** Commands sent and not answered yet, oldest first; guarded by itself. */
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private volatile boolean closing;
    private Thread reader;

    private record Pending(long sentNanos, CompletableFuture<Object> reply) {
    }

    private PushConnection(HostAndPort node, Wire wire, Handler handler) {
        this.node = node;
        this.wire = wire;
        this.handler = handler;
    }

    /**
     * Connects (with the config's connect and read timeouts), runs {@code setup} one command at a
     * time waiting for each reply, then hands the connection to a new daemon thread named
     * {@code threadName}. A reply error to a setup command is thrown as the
     * {@link JedisDataException}; the connection is then closed.
     *
     * @param setupReplies receives each setup command's reply, in order
     */
    static PushConnection open(HostAndPort node, JedisSocketFactory socketFactory, JedisClientConfig config,
            List<CommandArguments> setup, Consumer<Object> setupReplies, Handler handler, String threadName) {
        Wire wire = new Wire(socketFactory, config);
        PushConnection c = new PushConnection(node, wire, handler);
        try {
            for (CommandArguments command : setup) {
                wire.sendCommand(command);
                Object reply = wire.getOne();
                // pushes may only follow a CLIENT TRACKING; should one come first, it is not lost
                while (reply instanceof Push push) {
                    handler.pushed(c, push.body());
                    reply = wire.getOne();
                }
                setupReplies.accept(reply);
            }
            wire.setTimeoutInfinite();
        } catch (RuntimeException e) {
            wire.close();
            throw e;
        }
        c.reader = new Thread(c::read, threadName);
        c.reader.setDaemon(true);
        c.reader.start();
        return c;
    }

    HostAndPort node() {
        return node;
    }

    /**
     * Sends {@code command}; the future completes on the reader thread with the reply, or
     * exceptionally with a reply error or when the connection ends.
     */
    CompletableFuture<Object> send(CommandArguments command) {
        CompletableFuture<Object> reply = new CompletableFuture<>();
        synchronized (pending) {
            if (closing) {
                reply.completeExceptionally(new JedisConnectionException("connection closed"));
                return reply;
            }
            pending.add(new Pending(System.nanoTime(), reply));
            try {
                wire.sendCommand(command);
                wire.flushNow();
            } catch (RuntimeException e) {
                // the reader sees the broken socket too and reports it; this command is answered now
                pending.removeLast();
                reply.completeExceptionally(e);
            }
        }
        return reply;
    }

    /** When the oldest unanswered command was sent ({@link System#nanoTime}), or empty when none is waiting. */
    OptionalLong oldestPendingNanos() {
        synchronized (pending) {
            Pending p = pending.peekFirst();
            return p == null ? OptionalLong.empty() : OptionalLong.of(p.sentNanos());
        }
    }

    /** Closes the socket; the reader thread ends without reporting. */
    @Override
    public void close() {
        synchronized (pending) {
            closing = true;
        }
        wire.close();
        failPending(new JedisConnectionException("connection closed"));
    }

    private void read() {
        try {
            while (true) {
                Object frame;
                try {
                    frame = wire.readFrame();
                } catch (JedisDataException e) {
                    // an error reply: it answers the oldest command
                    complete(null, e);
                    continue;
                }
                if (frame instanceof Push push) {
                    handler.pushed(this, push.body());
                } else {
                    complete(frame, null);
                }
            }
        } catch (RuntimeException e) {
            failPending(e);
            if (!closing) {
                wire.close();
                handler.ended(this, RedisCalls.describe(e));
            }
        }
    }

    private void complete(Object reply, RuntimeException error) {
        Pending p;
        synchronized (pending) {
            p = pending.pollFirst();
        }
        if (p == null) {
            throw new JedisConnectionException("a reply to no command: the stream is out of step");
        }
        if (error != null) {
            p.reply().completeExceptionally(error);
        } else {
            p.reply().complete(reply);
        }
    }

    private void failPending(RuntimeException e) {
        while (true) {
            Pending p;
            synchronized (pending) {
                p = pending.pollFirst();
            }
            if (p == null) {
                return;
            }
            p.reply().completeExceptionally(e);
        }
    }

    /** A server push, as read by {@link Wire}. */
    record Push(List<Object> body) {
        Push {
            Objects.requireNonNull(body, "body");
        }
    }

    /** Jedis' connection, reading pushes as {@link Push} and letting another thread flush what it sent. */
    private static final class Wire extends Connection {
        private static final byte PUSH = '>';

        Wire(JedisSocketFactory socketFactory, JedisClientConfig config) {
            super(socketFactory, config);
        }

        @Override
        @SuppressWarnings("unchecked")
        protected Object protocolRead(RedisInputStream in) {
            boolean push = in.peek(PUSH);
            Object frame = Protocol.read(in);
            return push ? new Push((List<Object>) frame) : frame;
        }

        Object readFrame() {
            return getUnflushedObject();
        }

        void flushNow() {
            flush();
        }
    }
}
