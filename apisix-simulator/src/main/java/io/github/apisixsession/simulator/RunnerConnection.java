package io.github.apisixsession.simulator;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One unix-socket connection to a runner, used for one RPC at a time, like an ngx cosocket.
 * Reads time out like APISIX's {@code sock:settimeouts(1000, 60000, 60000)} (configurable).
 */
public final class RunnerConnection implements Closeable {
    private final SocketChannel channel;
    private final Selector selector;
    private final Duration readTimeout;
    private final int serial;
    private long idleSince = System.nanoTime();

    private RunnerConnection(SocketChannel channel, Selector selector, Duration readTimeout, int serial) {
        this.channel = channel;
        this.selector = selector;
        this.readTimeout = readTimeout;
        this.serial = serial;
    }

    /** Connects to {@code socket}; IOException (e.g. connection refused) when nobody listens. */
    public static RunnerConnection open(Path socket, Duration readTimeout, int serial) throws IOException {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        try {
            ch.configureBlocking(false);
            Selector sel = Selector.open();
            ch.register(sel, SelectionKey.OP_READ);
            return new RunnerConnection(ch, sel, readTimeout, serial);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public int serial() {
        return serial;
    }

    public void send(Frame frame) throws IOException {
        ByteBuffer buf = frame.encode();
        while (buf.hasRemaining()) {
            int n = channel.write(buf);
            if (n == 0) {
                Thread.onSpinWait();
            }
        }
    }

    public Frame receive() throws IOException {
        long deadline = System.nanoTime() + readTimeout.toNanos();
        ByteBuffer hdr = ByteBuffer.allocate(4);
        readFully(hdr, deadline, "header too short");
        int len = Frame.lengthOf(hdr.array());
        ByteBuffer data = ByteBuffer.allocate(len);
        readFully(data, deadline, "data truncated");
        return new Frame(hdr.get(0) & 0xff, data.array());
    }

    private void readFully(ByteBuffer buf, long deadline, String what) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf);
            if (n < 0) {
                throw new EOFException("closed (" + what + ")");
            }
            if (n == 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SocketTimeoutException("timeout");
                }
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
            }
        }
    }

    /**
     * Whether an idle pooled connection is still usable: open, not closed by the peer, no stray
     * bytes waiting (ngx_lua refuses to pool a socket with unread data).
     */
    boolean stillUsable() {
        if (!channel.isOpen()) {
            return false;
        }
        try {
            ByteBuffer probe = ByteBuffer.allocate(1);
            int n = channel.read(probe);
            return n == 0;
        } catch (IOException e) {
            return false;
        }
    }

    void markIdle() {
        idleSince = System.nanoTime();
    }

    long idleNanos() {
        return System.nanoTime() - idleSince;
    }

    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // nothing to do
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
