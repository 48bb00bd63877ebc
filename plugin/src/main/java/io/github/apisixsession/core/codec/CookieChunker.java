package io.github.apisixsession.core.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Splits a cookie-stored session over {@code name}, {@code name2} … {@code name9} the way
 * lua-resty-session does (4096 characters of {@code name=value} per cookie, attributes not
 * counted), and joins them back.
 */
public final class CookieChunker {

    public static final int MAX_COOKIE_SIZE = 4096;
    public static final int MAX_COOKIES = 9;
    private static final long MAX_COOKIES_SIZE = (long) MAX_COOKIES * MAX_COOKIE_SIZE;

    private static final String SIZE_EXCEEDED = "cookie size limit exceeded";

    private CookieChunker() {
    }

    /**
     * The (name, value) pairs for a session: {@code encodedHeader + payload} over as many cookies
     * as needed.
     *
     * @throws SessionCodecException "cookie size limit exceeded" beyond 9 cookies
     */
    public static List<Chunk> split(String name, String encodedHeader, String payload) throws SessionCodecException {
        if (name == null || encodedHeader == null || payload == null) {
            throw new IllegalArgumentException("name, header and payload are required");
        }
        if (encodedHeader.length() != SessionHeader.ENCODED_SIZE) {
            throw new IllegalArgumentException("the encoded header must be " + SessionHeader.ENCODED_SIZE + " chars");
        }
        int count = chunkCount(name, payload.length());
        List<Chunk> chunks = new ArrayList<>(count);
        if (count == 1) {
            chunks.add(new Chunk(name, encodedHeader + payload));
            return chunks;
        }
        int pos = Math.min(payload.length(), firstChunkCapacity(name));
        chunks.add(new Chunk(name, encodedHeader + payload.substring(0, pos)));
        int capacity = MAX_COOKIE_SIZE - name.length() - 2;
        for (int i = 2; i <= count; i++) {
            int end = Math.min(payload.length(), pos + capacity);
            chunks.add(new Chunk(name + i, payload.substring(pos, end)));
            pos = end;
        }
        return chunks;
    }

    /**
     * How many cookies the session whose first cookie is {@code firstChunk} occupied, read from
     * its header without verifying it (an expired, bound or forged header included): only good
     * for expiring chunks a new session no longer uses. 1 when the header cannot tell.
     */
    public static int chunkCountOf(String name, String firstChunk) {
        if (name == null || firstChunk == null || firstChunk.length() < SessionHeader.ENCODED_SIZE) {
            return 1;
        }
        try {
            byte[] h = Base64Url.decode(firstChunk, 0, SessionHeader.ENCODED_SIZE);
            if (h.length != SessionHeader.SIZE || h[0] != SessionHeader.TYPE) {
                return 1;
            }
            return chunkCount(name, (int) SessionHeader.getLe(h, SessionHeader.DATA_SIZE_OFFSET, 3));
        } catch (SessionCodecException e) {
            return 1;
        }
    }

    /** How many cookies a payload of {@code dataSize} characters takes under {@code name}. */
    public static int chunkCount(String name, int dataSize) throws SessionCodecException {
        // lua-resty-session's calculate_cookie_chunks
        long spaceNeeded = (long) name.length() + 1 + SessionHeader.ENCODED_SIZE + dataSize;
        if (dataSize < 0 || spaceNeeded > MAX_COOKIES_SIZE) {
            throw new SessionCodecException(SIZE_EXCEEDED);
        }
        if (spaceNeeded <= MAX_COOKIE_SIZE) {
            return 1;
        }
        for (int i = 2; i <= MAX_COOKIES; i++) {
            spaceNeeded += name.length() + 2;
            if (spaceNeeded > MAX_COOKIES_SIZE) {
                throw new SessionCodecException(SIZE_EXCEEDED);
            } else if (spaceNeeded <= (long) MAX_COOKIE_SIZE * i) {
                return i;
            }
        }
        throw new SessionCodecException(SIZE_EXCEEDED);
    }

    /**
     * The base64url payload of a cookie-stored session: for one chunk the last {@code dataSize}
     * characters of the first cookie (lua-resty-session reads from the end), otherwise the first
     * cookie after the header followed by {@code name2} … looked up with {@code cookies}.
     *
     * @throws SessionCodecException "missing session cookie chunk", or "invalid session payload"
     *                               when the joined length differs from {@code dataSize}
     */
    public static String join(String name, String firstCookie, int dataSize, Function<String, String> cookies)
            throws SessionCodecException {
        if (firstCookie == null) {
            throw new SessionCodecException("missing session cookie");
        }
        int count = chunkCount(name, dataSize);
        String payload;
        if (count == 1) {
            // lua: sub(cookie, -data_size); with data_size 0 (or larger than the cookie) that is
            // the whole cookie, which then fails the length check
            payload = dataSize == 0 || dataSize > firstCookie.length()
                    ? firstCookie
                    : firstCookie.substring(firstCookie.length() - dataSize);
        } else {
            // lua checks every chunk is present before it compares the joined length; we only
            // copy while the total still fits dataSize so oversized chunks cost no memory
            StringBuilder sb = new StringBuilder(dataSize);
            long total = 0;
            if (firstCookie.length() > SessionHeader.ENCODED_SIZE) {
                total = firstCookie.length() - SessionHeader.ENCODED_SIZE;
                if (total <= dataSize) {
                    sb.append(firstCookie, SessionHeader.ENCODED_SIZE, firstCookie.length());
                }
            }
            for (int i = 2; i <= count; i++) {
                String chunk = cookies == null ? null : cookies.apply(name + i);
                if (chunk == null) {
                    throw new SessionCodecException("missing session cookie chunk");
                }
                total += chunk.length();
                if (total <= dataSize) {
                    sb.append(chunk);
                }
            }
            if (total != dataSize) {
                throw new SessionCodecException("invalid session payload");
            }
            payload = sb.toString();
        }
        if (payload.length() != dataSize) {
            throw new SessionCodecException("invalid session payload");
        }
        return payload;
    }

    private static int firstChunkCapacity(String name) {
        return MAX_COOKIE_SIZE - SessionHeader.ENCODED_SIZE - name.length() - 1;
    }

    public record Chunk(String name, String value) {
    }
}
