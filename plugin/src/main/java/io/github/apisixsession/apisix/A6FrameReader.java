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
    /** The first allocation for a payload larger than the buffer; it doubles as bytes arrive. */
    static final int FIRST_LARGE_CHUNK = 64 * 1024;

    private final ReadableByteChannel channel;
    /** Read mode between calls: position..limit are bytes received and not yet consumed. */
    private final ByteBuffer buffer;
    private volatile long partialSince;

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
     * <p>Memory follows the bytes that actually arrive, not the length a header claims: a header
     * announcing 16 MB and then nothing costs this reader one 64 KB array beyond its buffer. Every read
     * goes through the reader's own direct buffer, so the JDK never allocates a temporary direct
     * buffer the size of a claimed payload either.
     *
     * @throws EOFException when the stream ends inside a frame
     */
    A6Frame read() throws IOException {
        partialSince = buffer.hasRemaining() ? System.nanoTime() : 0;
        if (!fill(4, true)) {
            return null;
        }
        int type = buffer.get() & 0xFF;
        int length = ((buffer.get() & 0xFF) << 16) | ((buffer.get() & 0xFF) << 8) | (buffer.get() & 0xFF);
        byte[] payload;
        int have = Math.min(length, buffer.remaining());
        if (length - have < buffer.capacity()) {
            // at most one buffer's worth is missing: the allocation is bounded by the buffer size
            payload = new byte[length];
            buffer.get(payload, 0, have);
            if (have < length) {
                fill(length - have, false);
                buffer.get(payload, have, length - have);
            }
        } else {
            payload = readLarge(length, have);
        }
        partialSince = buffer.hasRemaining() ? System.nanoTime() : 0;
        return new A6Frame(type, payload);
    }

    /** A payload larger than the buffer, grown as its bytes arrive (at most twice what arrived). */
    private byte[] readLarge(int length, int have) throws IOException {
        byte[] payload = new byte[Math.min(length, Math.max(have, FIRST_LARGE_CHUNK))];
        buffer.get(payload, 0, have);
        int got = have;
        while (got < length) {
            buffer.clear();
            int n;
            try {
                n = channel.read(buffer);
            } finally {
                buffer.flip();
            }
            if (n < 0) {
                throw new EOFException("connection closed inside a frame");
            }
            int take = Math.min(buffer.remaining(), length - got);
            if (got + take > payload.length) {
                long grown = Math.max((long) got + take, 2L * payload.length);
                payload = Arrays.copyOf(payload, (int) Math.min(length, grown));
            }
            buffer.get(payload, got, take);
            got += take;
        }
        return payload;
    }

    /**
     * {@link System#nanoTime()} when the first byte of a frame that is not complete yet arrived, or
     * 0 when no frame is in progress. Read by another thread ({@link ExtPluginServer}'s watchdog).
     */
    long partialSince() {
        return partialSince;
    }

    /** Makes at least {@code n} (≤ capacity) bytes available; false on EOF before any byte if allowed. */
    private boolean fill(int n, boolean eofAllowedAtStart) throws IOException {
        if (buffer.remaining() >= n) {
            return true;
        }
        buffer.compact();
        try {
            while (buffer.position() < n) {
                int read = channel.read(buffer);
                if (read < 0) {
                    if (eofAllowedAtStart && buffer.position() == 0) {
                        return false;
                    }
                    throw new EOFException("connection closed inside a frame");
                }
                if (read > 0 && partialSince == 0) {
                    partialSince = System.nanoTime();
                }
            }
        } finally {
            buffer.flip();
        }
        return true;
    }
}
