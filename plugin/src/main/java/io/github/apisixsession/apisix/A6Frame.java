package io.github.apisixsession.apisix;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * One frame of APISIX's ext-plugin protocol: 1 byte type, 3-byte big-endian payload length, then
 * the flatbuffer payload (at most 2^24-1 bytes).
 */
public record A6Frame(int type, byte[] payload) {

    public static final int RPC_ERROR = 0;
    public static final int RPC_PREPARE_CONF = 1;
    public static final int RPC_HTTP_REQ_CALL = 2;
    public static final int RPC_EXTRA_INFO = 3;
    public static final int RPC_HTTP_RESP_CALL = 4;

    public static final int MAX_PAYLOAD = (1 << 24) - 1;

    public A6Frame {
        if (type < 0 || type > 255) {
            throw new IllegalArgumentException("frame type out of range: " + type);
        }
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("frame payload too large: " + payload.length);
        }
    }

    /**
     * Reads one frame. Returns null on a clean end of stream before the first byte.
     *
     * @throws EOFException when the stream ends inside a frame
     */
    public static A6Frame read(ReadableByteChannel channel) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(4);
        if (!readFully(channel, header, true)) {
            return null;
        }
        int type = header.get(0) & 0xFF;
        int length = ((header.get(1) & 0xFF) << 16) | ((header.get(2) & 0xFF) << 8) | (header.get(3) & 0xFF);
        ByteBuffer payload = ByteBuffer.allocate(length);
        readFully(channel, payload, false);
        return new A6Frame(type, payload.array());
    }

    /** Writes one frame (header and payload in one buffer). */
    public static void write(WritableByteChannel channel, int type, byte[] payload) throws IOException {
        new A6Frame(type, payload).writeTo(channel);
    }

    public void writeTo(WritableByteChannel channel) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4 + payload.length);
        int length = payload.length;
        buf.put((byte) type).put((byte) (length >>> 16)).put((byte) (length >>> 8)).put((byte) length).put(payload);
        buf.flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    private static boolean readFully(ReadableByteChannel channel, ByteBuffer buf, boolean eofAllowedAtStart)
            throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf);
            if (n < 0) {
                if (eofAllowedAtStart && buf.position() == 0) {
                    return false;
                }
                throw new EOFException("connection closed inside a frame");
            }
        }
        return true;
    }
}
