package io.github.apisixsession.apisix;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;

/**
 * Reads frames from one connection through a buffer of its own: one {@code read} system call
 * usually brings a whole frame (header and payload), where {@link A6Frame#read} makes two, and the
 * direct buffer spares the JDK a temporary one per call. Bytes past the frame (APISIX sends one RPC
 * at a time, so normally none) stay buffered for the next call. Not thread-safe.
 */
final class A6FrameReader {

    static final int BUFFER_SIZE = 16 * 1024;

    private final ReadableByteChannel channel;
    /** Read mode between calls: position..limit are bytes received and not yet consumed. */
    private final ByteBuffer buffer;

    A6FrameReader(ReadableByteChannel channel) {
        this(channel, BUFFER_SIZE);
    }

    A6FrameReader(ReadableByteChannel channel, int bufferSize) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(Math.max(8, bufferSize));
        this.buffer.flip();
    }

    /**
     * The next frame, or null on a clean end of stream before its first byte.
     *
     * @throws EOFException when the stream ends inside a frame
     */
    A6Frame read() throws IOException {
        if (!fill(4, true)) {
            return null;
        }
        int type = buffer.get() & 0xFF;
        int length = ((buffer.get() & 0xFF) << 16) | ((buffer.get() & 0xFF) << 8) | (buffer.get() & 0xFF);
        if (length <= buffer.capacity()) {
            fill(length, false);
            byte[] payload = new byte[length];
            buffer.get(payload);
            return new A6Frame(type, payload);
        }
        return new A6Frame(type, readLarge(length));
    }

    /**
     * A payload larger than the buffer, read straight into an array that grows (doubling) as the
     * bytes arrive: the 3-byte length alone never makes us allocate its 16 MB, at most about twice
     * what the peer really sent.
     */
    private byte[] readLarge(int length) throws IOException {
        byte[] payload = new byte[Math.min(length, 2 * buffer.capacity())];
        int have = buffer.remaining();
        buffer.get(payload, 0, have);
        while (have < length) {
            if (have == payload.length) {
                payload = Arrays.copyOf(payload, (int) Math.min(length, 2L * payload.length));
            }
            int n = channel.read(ByteBuffer.wrap(payload, have, payload.length - have));
            if (n < 0) {
                throw new EOFException("connection closed inside a frame");
            }
            have += n;
        }
        return payload;
    }

    /** Makes at least {@code n} (≤ capacity) bytes available; false on EOF before any byte if allowed. */
    private boolean fill(int n, boolean eofAllowedAtStart) throws IOException {
        if (buffer.remaining() >= n) {
            return true;
        }
        buffer.compact();
        try {
            while (buffer.position() < n) {
                if (channel.read(buffer) < 0) {
                    if (eofAllowedAtStart && buffer.position() == 0) {
                        return false;
                    }
                    throw new EOFException("connection closed inside a frame");
                }
            }
        } finally {
            buffer.flip();
        }
        return true;
    }
}
