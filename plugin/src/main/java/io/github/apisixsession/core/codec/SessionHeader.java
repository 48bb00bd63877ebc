package io.github.apisixsession.core.codec;

/**
 * The 82-byte header of a lua-resty-session 4 cookie (all integers little-endian):
 * type(1) flags(2) sid(32) creation_time(5) rolling_offset(4) data_size(3) tag(16)
 * idling_offset(3) mac(16). {@code dataSize} is the length of the base64url ciphertext.
 */
public record SessionHeader(int flags, byte[] sid, long creationTime, long rollingOffset, int dataSize,
                            byte[] tag, long idlingOffset, byte[] mac) {

    public static final int TYPE = 1;
    public static final int FLAG_STORAGE = 0x0001;
    public static final int FLAG_FORGET = 0x0002;
    public static final int FLAG_DEFLATE = 0x0010;

    public static final int SIZE = 82;
    /** base64url (no padding) length of the header. */
    public static final int ENCODED_SIZE = 110;
    public static final int SID_SIZE = 32;

    /** Largest values of the fixed-width fields (5, 4, 3 and 3 bytes). */
    public static final long MAX_CREATION_TIME = (1L << 40) - 1;
    public static final long MAX_ROLLING_OFFSET = (1L << 32) - 1;
    public static final int MAX_DATA_SIZE = (1 << 24) - 1;
    public static final long MAX_IDLING_OFFSET = (1L << 24) - 1;

    /** Offsets: AAD is bytes [0, AAD_SIZE), the MAC covers [0, MAC_OFFSET). */
    static final int SID_OFFSET = 3;
    static final int CREATION_OFFSET = 35;
    static final int ROLLING_OFFSET = 40;
    static final int DATA_SIZE_OFFSET = 44;
    static final int AAD_SIZE = 47;
    static final int TAG_OFFSET = 47;
    static final int IDLING_OFFSET = 63;
    static final int MAC_OFFSET = 66;
    static final int TAG_SIZE = 16;
    static final int MAC_SIZE = 16;

    public boolean hasFlag(int flag) {
        return (flags & flag) == flag;
    }

    /** The 82 header bytes (the tag and MAC are zero-filled when null). */
    public byte[] toBytes() {
        byte[] b = new byte[SIZE];
        b[0] = TYPE;
        putLe(b, 1, flags, 2);
        System.arraycopy(sid, 0, b, SID_OFFSET, SID_SIZE);
        putLe(b, CREATION_OFFSET, creationTime, 5);
        putLe(b, ROLLING_OFFSET, rollingOffset, 4);
        putLe(b, DATA_SIZE_OFFSET, dataSize, 3);
        if (tag != null) {
            System.arraycopy(tag, 0, b, TAG_OFFSET, TAG_SIZE);
        }
        putLe(b, IDLING_OFFSET, idlingOffset, 3);
        if (mac != null) {
            System.arraycopy(mac, 0, b, MAC_OFFSET, MAC_SIZE);
        }
        return b;
    }

    static void putLe(byte[] b, int off, long value, int size) {
        for (int i = 0; i < size; i++) {
            b[off + i] = (byte) (value >>> (8 * i));
        }
    }

    static long getLe(byte[] b, int off, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return v;
    }
}
