package io.github.apisixsession.simulator;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * One ext-plugin frame: 1 byte of type, 3 bytes of big-endian length, then the flatbuffer payload.
 */
public record Frame(int type, byte[] payload) {
    public static final int RPC_ERROR = 0;
    public static final int RPC_PREPARE_CONF = 1;
    public static final int RPC_HTTP_REQ_CALL = 2;
    public static final int RPC_EXTRA_INFO = 3;
    public static final int RPC_HTTP_RESP_CALL = 4;

    /** The largest payload a 3-byte length can describe. */
    public static final int MAX_PAYLOAD = (1 << 24) - 1;

    public Frame {
        if (type < 0 || type > 255) {
            throw new IllegalArgumentException("frame type out of range: " + type);
        }
        if (payload == null) {
            payload = new byte[0];
        }
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException(
                    "the max length of data is " + MAX_PAYLOAD + " but got " + payload.length);
        }
    }

    public static String typeName(int type) {
        switch (type) {
            case RPC_ERROR: return "RPC_ERROR";
            case RPC_PREPARE_CONF: return "RPC_PREPARE_CONF";
            case RPC_HTTP_REQ_CALL: return "RPC_HTTP_REQ_CALL";
            case RPC_EXTRA_INFO: return "RPC_EXTRA_INFO";
            case RPC_HTTP_RESP_CALL: return "RPC_HTTP_RESP_CALL";
            default: return "type " + type;
        }
    }

    /** Header plus payload, ready to write. */
    public ByteBuffer encode() {
        ByteBuffer buf = ByteBuffer.allocate(4 + payload.length);
        int len = payload.length;
        buf.put((byte) type);
        buf.put((byte) ((len >>> 16) & 0xff));
        buf.put((byte) ((len >>> 8) & 0xff));
        buf.put((byte) (len & 0xff));
        buf.put(payload);
        buf.flip();
        return buf;
    }

    public byte[] toBytes() {
        ByteBuffer b = encode();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** Decodes the 3-byte length of a 4-byte frame header. */
    public static int lengthOf(byte[] header) {
        return ((header[1] & 0xff) << 16) | ((header[2] & 0xff) << 8) | (header[3] & 0xff);
    }

    /** Reads one whole frame from a stream; EOFException if it ends before one is complete. */
    public static Frame read(InputStream in) throws IOException {
        byte[] hdr = in.readNBytes(4);
        if (hdr.length < 4) {
            throw new EOFException("header too short (" + hdr.length + " bytes)");
        }
        int len = lengthOf(hdr);
        byte[] data = in.readNBytes(len);
        if (data.length != len) {
            throw new EOFException("data truncated: " + data.length + " of " + len);
        }
        return new Frame(hdr[0] & 0xff, data);
    }

    public ByteBuffer payloadBuffer() {
        return ByteBuffer.wrap(payload);
    }

    @Override
    public String toString() {
        return typeName(type) + "[" + payload.length + " bytes]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Frame f && f.type == type && java.util.Arrays.equals(f.payload, payload);
    }

    @Override
    public int hashCode() {
        return 31 * type + java.util.Arrays.hashCode(payload);
    }
}
