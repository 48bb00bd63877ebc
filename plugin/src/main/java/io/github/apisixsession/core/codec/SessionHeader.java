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

    public boolean hasFlag(int flag) {
        return (flags & flag) == flag;
    }
}
