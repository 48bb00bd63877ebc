package io.github.apisixsession.apisix;

import io.github.api7.A6.Err.Code;
import io.github.apisixsession.core.GatewayException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One APISIX connection, served by one thread with blocking I/O: APISIX sends one RPC at a time
 * on a connection, and ExtraInfo round trips happen inside that RPC on the same connection.
 */
final class A6Connection implements Runnable, GatewayLink {

    private static final Logger LOG = LoggerFactory.getLogger(A6Connection.class);

    private final SocketChannel channel;
    private final A6FrameReader reader;
    private final RpcDispatcher dispatcher;
    private final Runnable onExit;
    private boolean busy;
    private boolean closing;
    /** Set when the byte stream can no longer be trusted (I/O failure or protocol desync). */
    private boolean broken;

    A6Connection(SocketChannel channel, RpcDispatcher dispatcher, Runnable onExit) {
        this.channel = channel;
        this.reader = new A6FrameReader(channel);
        this.dispatcher = dispatcher;
        this.onExit = onExit;
    }

    @Override
    public void run() {
        try {
            serve();
        } catch (ClosedChannelException e) {
            LOG.debug("connection closed");
        } catch (IOException e) {
            LOG.debug("connection dropped: {}", e.toString());
        } catch (Throwable e) {
            LOG.error("connection failed: {}: {}", e.getClass().getName(), e.getMessage());
        } finally {
            closeQuietly();
            onExit.run();
        }
    }

    private void serve() throws IOException {
        while (true) {
            A6Frame frame = reader.read();
            if (frame == null || !beginRpc()) {
                return;
            }
            try {
                A6Frame reply;
                try {
                    reply = dispatcher.handle(frame, this);
                } catch (MalformedRpcException e) {
                    LOG.warn("closing connection: {}", e.getMessage());
                    if (!broken) {
                        RpcDispatcher.error(Code.BAD_REQUEST).writeTo(channel);
                    }
                    return;
                }
                if (broken) {
                    LOG.warn("closing connection after a failed ExtraInfo exchange");
                    return;
                }
                reply.writeTo(channel);
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

    private byte[] extraInfo(byte[] request, String what) throws GatewayException {
        if (broken) {
            throw new GatewayException("gateway connection already failed", null);
        }
        try {
            A6Frame.write(channel, A6Frame.RPC_EXTRA_INFO, request);
            A6Frame reply = reader.read();
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

    private synchronized boolean beginRpc() {
        if (closing) {
            return false;
        }
        busy = true;
        return true;
    }

    /** Returns false when the connection must stop (shutdown requested meanwhile). */
    private synchronized boolean endRpc() {
        busy = false;
        return !closing;
    }

    /** Graceful stop: an idle connection closes now, a busy one after its reply. */
    synchronized void shutdown() {
        closing = true;
        if (!busy) {
            closeQuietly();
        }
    }

    void closeQuietly() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("close failed: {}", e.toString());
        }
    }
}
