package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Random;
import org.junit.jupiter.api.Test;

class A6FrameReaderTest {

    /** Hands out {@code data} at most {@code chunk} bytes per read, like a socket would. */
    private static ReadableByteChannel channel(byte[] data, int chunk) {
        return new ReadableByteChannel() {
            int pos;

            @Override
            public int read(ByteBuffer dst) {
                if (pos >= data.length) {
                    return -1;
                }
                int n = Math.min(Math.min(chunk, dst.remaining()), data.length - pos);
                dst.put(data, pos, n);
                pos += n;
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
    }

    private static byte[] frames(A6Frame... frames) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (A6Frame f : frames) {
            out.write(f.type());
            int n = f.payload().length;
            out.write(n >>> 16);
            out.write(n >>> 8);
            out.write(n);
            out.write(f.payload());
        }
        return out.toByteArray();
    }

    @Test
    void readsFramesWhateverTheChunkingAndBufferSize() throws IOException {
        Random random = new Random(7);
        byte[] small = new byte[37];
        byte[] empty = new byte[0];
        byte[] large = new byte[100_000];
        random.nextBytes(small);
        random.nextBytes(large);
        byte[] data = frames(new A6Frame(2, small), new A6Frame(3, empty), new A6Frame(4, large), new A6Frame(1, small));
        for (int chunk : new int[] {1, 3, 4, 5, 64, 1000, 1 << 20}) {
            for (int size : new int[] {8, 41, 4096, 16 * 1024}) {
                A6FrameReader reader = new A6FrameReader(channel(data, chunk), size);
                A6Frame a = reader.read();
                assertEquals(2, a.type());
                assertArrayEquals(small, a.payload());
                assertEquals(3, reader.read().type());
                A6Frame c = reader.read();
                assertEquals(4, c.type());
                assertArrayEquals(large, c.payload(), "chunk " + chunk + ", buffer " + size);
                assertArrayEquals(small, reader.read().payload());
                assertNull(reader.read(), "clean end of stream");
            }
        }
    }

    @Test
    void endOfStreamInsideAFrameIsAnError() throws IOException {
        byte[] data = frames(new A6Frame(2, new byte[50]));
        for (int cut : new int[] {2, 4, 30}) {
            byte[] truncated = java.util.Arrays.copyOf(data, cut);
            assertThrows(EOFException.class, () -> new A6FrameReader(channel(truncated, 7), 16).read());
        }
    }

    /**
     * Found by A6FrameFuzzTest: the reader allocated the announced length (up to 16 MB) on reading
     * the 4-byte header, before a byte of the payload arrived. It now grows the payload with the
     * bytes received.
     */
    @Test
    void aHeaderAnnouncing16MegabytesAllocatesOnlyWhatArrives() throws IOException {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        byte[] header = {2, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};
        byte[] someBytes = java.util.Arrays.copyOf(header, 4 + 50_000);
        for (byte[] data : new byte[][] {header, someBytes}) {
            A6FrameReader reader = new A6FrameReader(channel(data, 4096));
            assertThrows(EOFException.class, reader::read); // warm-up: classes loaded
            reader = new A6FrameReader(channel(data, 4096));
            long before = threads.getCurrentThreadAllocatedBytes();
            assertThrows(EOFException.class, reader::read);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated < 4L * data.length + 256 * 1024, "allocated " + allocated + " for " + data.length);
        }
        // a full frame of the maximum size still reads, over many doublings
        byte[] max = new byte[A6Frame.MAX_PAYLOAD];
        new Random(3).nextBytes(max);
        A6Frame f = new A6FrameReader(channel(frames(new A6Frame(4, max)), 65_536)).read();
        assertArrayEquals(max, f.payload());
    }
}
