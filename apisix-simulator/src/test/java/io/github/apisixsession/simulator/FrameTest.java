package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FrameTest {
    @Test
    void headerIsTypeThenThreeByteBigEndianLength() {
        byte[] payload = new byte[0x010203];
        byte[] bytes = new Frame(Frame.RPC_HTTP_REQ_CALL, payload).toBytes();
        assertEquals(4 + 0x010203, bytes.length);
        assertEquals(2, bytes[0]);
        assertEquals(0x01, bytes[1]);
        assertEquals(0x02, bytes[2]);
        assertEquals(0x03, bytes[3]);
    }

    @Test
    void roundTripThroughAStreamKeepsFramesApart() throws Exception {
        Frame a = new Frame(Frame.RPC_PREPARE_CONF, new byte[] {1, 2, 3});
        Frame b = new Frame(Frame.RPC_ERROR, new byte[0]);
        Frame c = new Frame(Frame.RPC_EXTRA_INFO, "xyz".getBytes());
        byte[] all = concat(a.toBytes(), b.toBytes(), c.toBytes());
        ByteArrayInputStream in = new ByteArrayInputStream(all);
        assertEquals(a, Frame.read(in));
        assertEquals(b, Frame.read(in));
        Frame c2 = Frame.read(in);
        assertEquals(Frame.RPC_EXTRA_INFO, c2.type());
        assertArrayEquals("xyz".getBytes(), c2.payload());
        assertThrows(EOFException.class, () -> Frame.read(in));
    }

    @Test
    void truncatedDataIsAnError() {
        byte[] bytes = new Frame(Frame.RPC_PREPARE_CONF, new byte[10]).toBytes();
        byte[] cut = Arrays.copyOf(bytes, 9);
        assertThrows(EOFException.class, () -> Frame.read(new ByteArrayInputStream(cut)));
        assertThrows(EOFException.class, () -> Frame.read(new ByteArrayInputStream(new byte[] {1, 0})));
    }

    @Test
    void largestPayloadFitsAndOneMoreDoesNot() {
        assertEquals(0xFFFFFF, Frame.MAX_PAYLOAD);
        byte[] bytes = new Frame(Frame.RPC_HTTP_REQ_CALL, new byte[Frame.MAX_PAYLOAD]).toBytes();
        assertEquals((byte) 0xFF, bytes[1]);
        assertEquals((byte) 0xFF, bytes[2]);
        assertEquals((byte) 0xFF, bytes[3]);
        assertThrows(IllegalArgumentException.class, () -> new Frame(1, new byte[Frame.MAX_PAYLOAD + 1]));
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
