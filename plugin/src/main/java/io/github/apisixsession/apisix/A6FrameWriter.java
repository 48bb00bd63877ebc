package io.github.apisixsession.apisix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Writes frames to one connection through a direct buffer of its own: header and payload leave in
 * one {@code write} system call, with no heap copy of the frame and no temporary direct buffer
 * from the JDK (which copies every heap buffer into one before writing). A payload larger than
 * the buffer goes out in buffer-sized pieces. Not thread-safe.
 */
final class A6FrameWriter {

    static final int BUFFER_SIZE = 16 * 1024;

    private final WritableByteChannel channel;
    private final ByteBuffer buffer;

    A6FrameWriter(WritableByteChannel channel) {
        this(channel, BUFFER_SIZE);
    }

    A6FrameWriter(WritableByteChannel channel, int bufferSize) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(Math.max(8, bufferSize));
    }

    void write(A6Frame frame) throws IOException {
        byte[] payload = frame.payload();
        int length = payload.length;
        buffer.clear();
        buffer.put((byte) frame.type()).put((byte) (length >>> 16)).put((byte) (length >>> 8)).put((byte) length);
        int sent = 0;
        while (true) {
            int take = Math.min(buffer.remaining(), length - sent);
            buffer.put(payload, sent, take);
            sent += take;
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            if (sent == length) {
                return;
            }
            buffer.clear();
        }
    }
}
