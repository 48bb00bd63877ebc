package io.github.apisixsession.apisix;

import static io.github.apisixsession.apisix.A6FuzzAccess.channel;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class A6FrameReaderTest {

    private static byte[] frames(A6Frame... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (A6Frame f : frames) {
            out.writeBytes(A6FuzzAccess.frame(f.type(), f.payload()));
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

    /** What a reader made of a byte stream: its frames, then how it ended (null or the exception class). */
    private record Outcome(List<A6Frame> frames, String end) {
    }

    private static Outcome drain(ThrowingRead read) {
        List<A6Frame> frames = new ArrayList<>();
        while (true) {
            try {
                A6Frame f = read.next();
                if (f == null) {
                    return new Outcome(frames, "eof");
                }
                frames.add(f);
            } catch (IOException e) {
                return new Outcome(frames, e.getClass().getSimpleName());
            }
        }
    }

    private interface ThrowingRead {
        A6Frame next() throws IOException;
    }

    private static void assertSameOutcome(Outcome expected, Outcome actual, String what) {
        assertEquals(expected.end(), actual.end(), what);
        assertEquals(expected.frames().size(), actual.frames().size(), what);
        for (int i = 0; i < expected.frames().size(); i++) {
            assertEquals(expected.frames().get(i).type(), actual.frames().get(i).type(), what + " frame " + i);
            assertArrayEquals(expected.frames().get(i).payload(), actual.frames().get(i).payload(), what + " frame " + i);
        }
    }

    /** The protocol, read straight off the byte array: 1 byte type, 3 bytes length, payload. */
    private static Outcome specParse(byte[] data) {
        List<A6Frame> frames = new ArrayList<>();
        int pos = 0;
        while (true) {
            if (pos == data.length) {
                return new Outcome(frames, "eof");
            }
            if (data.length - pos < 4) {
                return new Outcome(frames, "EOFException");
            }
            int len = ((data[pos + 1] & 0xFF) << 16) | ((data[pos + 2] & 0xFF) << 8) | (data[pos + 3] & 0xFF);
            if (data.length - pos - 4 < len) {
                return new Outcome(frames, "EOFException");
            }
            frames.add(new A6Frame(data[pos] & 0xFF, java.util.Arrays.copyOfRange(data, pos + 4, pos + 4 + len)));
            pos += 4 + len;
        }
    }

    static long seed() {
        return Long.getLong("hostile.seed", 20261122L);
    }

    /**
     * Random bytes (sometimes with small length bytes so that several frames fit) are parsed
     * exactly as the protocol says (read off the array by {@link #specParse}): same frames, same ending
     * (clean end or EOFException), whatever the chunking and buffer size, and never anything else.
     */
    @Test
    void randomBytesParseLikeTheReferenceParser() throws IOException {
        long seed = seed();
        Random random = new Random(seed);
        int tries = Integer.getInteger("hostile.tries", 300);
        int framesSeen = 0;
        for (int t = 0; t < tries; t++) {
            byte[] data = new byte[random.nextInt(t % 10 == 0 ? 70_000 : 300)];
            random.nextBytes(data);
            if (random.nextBoolean()) {
                // keep claimed lengths small so that whole frames occur
                for (int i = 0; i + 3 < data.length; i += 4 + random.nextInt(40)) {
                    data[i + 1] = 0;
                    data[i + 2] = 0;
                }
            }
            int chunk = 1 + random.nextInt(random.nextBoolean() ? 7 : 5000);
            int size = new int[] {8, 16, 64, 4096, 16 * 1024}[random.nextInt(5)];
            byte[] bytes = data;
            Outcome expected = specParse(bytes);
            ReadableByteChannel ch = channel(data, chunk);
            A6FrameReader reader = new A6FrameReader(ch, size);
            Outcome actual = drain(reader::read);
            assertSameOutcome(expected, actual, "seed " + seed + " try " + t + " chunk " + chunk + " buffer " + size);
            framesSeen += actual.frames().size();
        }
        assertTrue(framesSeen > tries / 4, "the generator produces whole frames too: " + framesSeen);
    }

    /** Valid frame sequences of random sizes (0 .. 200 KB) round-trip under random chunking. */
    @Test
    void randomFrameSequencesRoundTrip() throws IOException {
        Random random = new Random(seed() + 1);
        for (int t = 0; t < 60; t++) {
            A6Frame[] frames = new A6Frame[1 + random.nextInt(6)];
            for (int i = 0; i < frames.length; i++) {
                int len = switch (random.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> random.nextInt(100);
                    case 2 -> 16 * 1024 - 4 + random.nextInt(9);
                    default -> random.nextInt(200_000);
                };
                byte[] payload = new byte[len];
                random.nextBytes(payload);
                frames[i] = new A6Frame(random.nextInt(256), payload);
            }
            byte[] data = frames(frames);
            int chunk = 1 + random.nextInt(random.nextBoolean() ? 13 : 70_000);
            A6FrameReader reader = new A6FrameReader(channel(data, chunk), 16 * 1024);
            Outcome actual = drain(reader::read);
            assertSameOutcome(new Outcome(List.of(frames), "eof"), actual, "try " + t + " chunk " + chunk);
        }
    }

    /**
     * Regression: the reader allocated the claimed payload length up front, so a header claiming
     * 16 MB followed by a few bytes cost 16 MB of heap per connection (and, reading straight into
     * that array, a JDK temporary direct buffer of the same size); a handful of such connections
     * exhausted the runner's heap. Now the allocation follows the bytes that arrive.
     */
    @Test
    void aClaimedLengthCostsOnlyWhatArrives() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        byte[] data = new byte[4 + 1000];
        data[0] = 2;
        data[1] = (byte) 0xFF;
        data[2] = (byte) 0xFF;
        data[3] = (byte) 0xFF;
        A6FrameReader reader = new A6FrameReader(channel(data, 300));
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThrows(EOFException.class, reader::read);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 1024 * 1024, "allocated " + allocated + " bytes for 1,004 received");
    }

    /** Large frames grow their array as bytes come: about twice what arrived at most. */
    @Test
    void aLargeFrameStillArrivesWhole() throws IOException {
        byte[] payload = new byte[A6Frame.MAX_PAYLOAD];
        new Random(3).nextBytes(payload);
        A6FrameReader reader = new A6FrameReader(channel(frames(new A6Frame(3, payload)), 100_000));
        A6Frame f = reader.read();
        assertArrayEquals(payload, f.payload());
        assertNull(reader.read());
    }

    @Test
    void partialSinceMarksAFrameInProgressOnly() throws IOException {
        byte[] data = frames(new A6Frame(2, new byte[10]), new A6Frame(1, new byte[3]));
        int limit = 6;
        ReadableByteChannel ch = new ReadableByteChannel() {
            int pos;

            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (pos >= data.length) {
                    return -1;
                }
                if (pos >= limit) {
                    throw new java.net.SocketTimeoutException("stalled at " + pos);
                }
                int n = Math.min(Math.min(dst.remaining(), limit - pos), data.length - pos);
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
        A6FrameReader reader = new A6FrameReader(ch, 8);
        assertEquals(0, reader.partialSince());
        assertThrows(java.net.SocketTimeoutException.class, reader::read);
        assertTrue(reader.partialSince() != 0, "6 bytes of a 14-byte frame arrived");
        A6FrameReader whole = new A6FrameReader(channel(data, 3), 8);
        assertEquals(2, whole.read().type());
        assertTrue(whole.partialSince() != 0, "bytes of the second frame are buffered: it has begun");
        assertEquals(1, whole.read().type());
        assertEquals(0, whole.partialSince(), "no frame in progress after the last complete one");
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
