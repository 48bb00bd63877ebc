package io.github.apisixsession.apisix;

import io.github.api7.A6.Err.Code;
import io.github.apisixsession.core.GatewayException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One APISIX connection, served by one thread with blocking I/O: APISIX sends one RPC at a time
 * on a connection, and ExtraInfo round trips happen inside that RPC on the same connection.
 *
 * <p>Draining (the runner stops or was taken over): an RPC in progress, or one that arrives, is
 * answered with a last reply after which APISIX does not pool the connection again
 * ({@link #writeLastReply}); a connection that stays quiet is closed by the server's watchdog
 * ({@link #closeIfQuiet}).
 */
final class A6Connection implements Runnable, GatewayLink {

    private static final Logger LOG = LoggerFactory.getLogger(A6Connection.class);

    private final SocketChannel channel;
    private final A6FrameReader reader;
    private final A6FrameWriter writer;
    private final ConnectionHost host;
    private final long acceptedAt;
    private UnixDomainPrincipal peer;
    private boolean busy;
    private boolean closing;
    private boolean draining;
    /** Set when the byte stream can no longer be trusted (I/O failure or protocol desync). */
    private boolean broken;
    /** {@link System#nanoTime()} when the current wait for an RPC frame began; 0 when not waiting. */
    private volatile long awaitingRpcSince;
    /** {@link System#nanoTime()} when the current wait for an ExtraInfo answer began; 0 when not waiting. */
    private volatile long awaitingExtraInfoSince;
    private volatile boolean expired;

    A6Connection(SocketChannel channel, ConnectionHost host, long acceptedAt) {
        this.channel = channel;
        this.reader = new A6FrameReader(channel);
        this.writer = new A6FrameWriter(channel);
        this.host = host;
        this.acceptedAt = acceptedAt;
    }

    @Override
    public void run() {
        try {
            peer = host.admit(channel, acceptedAt);
            if (peer != null) {
                serve();
            }
        } catch (ClosedChannelException e) {
            if (!expired) {
                LOG.debug("connection closed");
            }
        } catch (IOException e) {
            LOG.debug("connection dropped: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (VirtualMachineError e) {
            // out of memory (or the JVM broken otherwise): nothing here can be trusted any more;
            // the process ends and APISIX starts a fresh one (a plugin's StackOverflowError never
            // gets here: RpcDispatcher answers it with an error frame)
            host.fatal(e);
        } catch (RuntimeException | LinkageError | AssertionError e) {
            // a bug or a broken plugin class: this connection ends, the runner goes on
            LOG.error("connection failed: {}: {}", e.getClass().getName(), e.getMessage());
        } finally {
            closeQuietly();
            host.exited(this);
        }
    }

    private void serve() throws IOException, InterruptedException {
        while (true) {
            awaitingRpcSince = System.nanoTime();
            A6Frame frame;
            try {
                frame = reader.read();
            } finally {
                awaitingRpcSince = 0;
            }
            if (frame == null || !beginRpc()) {
                return;
            }
            try {
                if (frame.type() == Handover.FRAME) {
                    if (!host.handover(frame, channel, peer)) {
                        writer.write(RpcDispatcher.error(Code.BAD_REQUEST));
                        return;
                    }
                    continue;
                }
                RpcDispatcher dispatcher = host.awaitDispatcher();
                if (dispatcher == null) {
                    return;
                }
                A6Frame reply;
                try {
                    reply = dispatcher.handle(frame, this);
                } catch (MalformedRpcException e) {
                    LOG.warn("closing connection: {}", e.getMessage());
                    if (!broken) {
                        writer.write(RpcDispatcher.error(Code.BAD_REQUEST));
                    }
                    return;
                }
                if (broken) {
                    LOG.warn("closing connection after a failed ExtraInfo exchange");
                    return;
                }
                if (isDraining()) {
                    writeLastReply(reply);
                    return;
                }
                writer.write(reply);
            } finally {
                if (!endRpc()) {
                    return;
                }
            }
        }
    }

    @Override
    public byte[] variable(String name) throws GatewayException {
        return extraInfo(A6Codec.extraInfoVar(name), "variable");
    }

    @Override
    public byte[] requestBody() throws GatewayException {
        return extraInfo(A6Codec.extraInfoReqBody(), "request body");
    }

    @Override
    public byte[] responseBody() throws GatewayException {
        return extraInfo(A6Codec.extraInfoRespBody(), "response body");
    }

    private byte[] extraInfo(byte[] request, String what) throws GatewayException {
        if (broken) {
            throw new GatewayException("gateway connection already failed", null);
        }
        try {
            writer.write(new A6Frame(A6Frame.RPC_EXTRA_INFO, request));
            A6Frame reply;
            awaitingExtraInfoSince = System.nanoTime();
            try {
                reply = reader.read();
            } finally {
                awaitingExtraInfoSince = 0;
            }
            if (reply == null) {
                throw new IOException("connection closed by the gateway");
            }
            if (reply.type() != A6Frame.RPC_EXTRA_INFO) {
                throw new IOException("expected an ExtraInfo reply, got frame type " + reply.type());
            }
            return A6Codec.decodeExtraInfoResp(reply.payload());
        } catch (IOException | MalformedRpcException e) {
            broken = true;
            throw new GatewayException("fetching the " + what + " from APISIX failed: " + e.getMessage(), e);
        }
    }

    /**
     * Closes the connection when it has waited too long (called by the server's watchdog): a frame
     * started but not complete within {@code frameTimeout}, an ExtraInfo answer not complete within
     * {@code frameTimeout}, or no RPC at all within {@code idleTimeout} (zero: never). A plugin at
     * work is never interrupted. The blocked read then fails and the thread ends.
     *
     * @return whether it closed the connection
     */
    boolean expireIfStuck(long now, long frameTimeoutNanos, long idleTimeoutNanos) {
        if (expired) {
            return false; // closed already; its thread is on its way out
        }
        String why = null;
        long extra = awaitingExtraInfoSince;
        long rpc = awaitingRpcSince;
        long partial = reader.partialSince();
        if (extra != 0 && now - extra > frameTimeoutNanos) {
            why = "no ExtraInfo answer within " + seconds(frameTimeoutNanos);
        } else if (rpc != 0 && partial != 0 && now - partial > frameTimeoutNanos) {
            why = "a frame was not completed within " + seconds(frameTimeoutNanos);
        } else if (rpc != 0 && partial == 0 && idleTimeoutNanos > 0 && now - rpc > idleTimeoutNanos) {
            why = "idle for " + seconds(idleTimeoutNanos);
        }
        if (why == null) {
            return false;
        }
        expired = true;
        LOG.warn("closing connection: {}", why);
        closeQuietly();
        return true;
    }

    private static String seconds(long nanos) {
        return (nanos / 1_000_000_000.0) + " s";
    }

    private synchronized boolean beginRpc() {
        if (closing) {
            return false;
        }
        busy = true;
        return true;
    }

    /** Returns false when the connection must stop (closed meanwhile). */
    private synchronized boolean endRpc() {
        busy = false;
        return !closing;
    }

    private synchronized boolean isDraining() {
        return draining;
    }

    /**
     * The reply, one stray byte after it in the same write, then the end of the stream. nginx reads
     * the reply and finds the byte still unread when it would pool the connection, so it never
     * pools it ("unread data in buffer": closed, as measured on a real APISIX) and no later RPC can
     * be sent on a connection this runner is closing. The end of stream alone could arrive after
     * nginx pooled the connection again.
     */
    private void writeLastReply(A6Frame reply) throws IOException {
        byte[] payload = reply.payload();
        ByteBuffer buf = ByteBuffer.allocate(4 + payload.length + 1);
        buf.put((byte) reply.type()).put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8))
                .put((byte) payload.length).put(payload).put((byte) 0).flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        channel.shutdownOutput();
    }

    /**
     * From now on the connection ends with its next reply ({@link #writeLastReply}). An idle one is
     * not closed here: APISIX may be sending an RPC on it right now, which would then fail; the
     * watchdog closes it once it has been quiet for a while.
     */
    synchronized void drain() {
        draining = true;
    }

    /**
     * Closes a draining connection that has had no RPC and no byte of one for {@code quietNanos}
     * (counted from {@code since} at the earliest); false when it is at work or not quiet yet.
     */
    synchronized boolean closeIfQuiet(long now, long since, long quietNanos) {
        long waiting = awaitingRpcSince;
        if (!draining || busy || waiting == 0 || reader.partialSince() != 0
                || now - Math.max(waiting, since) < quietNanos) {
            return false;
        }
        closing = true;
        closeQuietly();
        return true;
    }

    void closeQuietly() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("close failed: {}", e.toString());
        }
    }
}
