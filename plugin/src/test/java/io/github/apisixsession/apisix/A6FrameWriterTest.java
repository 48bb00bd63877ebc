package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Random;
import org.junit.jupiter.api.Test;

class A6FrameWriterTest {

    /** A channel that takes at most {@code chunk} bytes per write, like a full socket buffer. */
    private static final class Sink implements WritableByteChannel {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int chunk;

        Sink(int chunk) {
            this.chunk = chunk;
        }

        @Override
        public int write(ByteBuffer src) {
            int n = Math.min(chunk, src.remaining());
            byte[] b = new byte[n];
            src.get(b);
            out.writeBytes(b);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void writesTheBytesOfA6FrameWriteToWhateverTheBufferAndChunking() throws IOException {
        Random random = new Random(11);
        byte[] small = new byte[37];
        byte[] large = new byte[100_000];
        random.nextBytes(small);
        random.nextBytes(large);
        A6Frame[] frames = {new A6Frame(2, small), new A6Frame(3, new byte[0]), new A6Frame(4, large),
            new A6Frame(0, small)};
        Sink expected = new Sink(Integer.MAX_VALUE);
        for (A6Frame f : frames) {
            f.writeTo(expected);
        }
        for (int chunk : new int[] {1, 5, 4096, Integer.MAX_VALUE}) {
            for (int size : new int[] {8, 41, 16 * 1024}) {
                Sink sink = new Sink(chunk);
                A6FrameWriter writer = new A6FrameWriter(sink, size);
                for (A6Frame f : frames) {
                    writer.write(f);
                }
                assertArrayEquals(expected.out.toByteArray(), sink.out.toByteArray(), "chunk " + chunk + ", buffer " + size);
            }
        }
    }
}
