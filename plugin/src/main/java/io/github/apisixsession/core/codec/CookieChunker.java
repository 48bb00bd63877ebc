package io.github.apisixsession.core.codec;

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

    private CookieChunker() {
    }

    /**
     * The (name, value) pairs for a session: {@code encodedHeader + payload} over as many cookies
     * as needed.
     *
     * @throws SessionCodecException "cookie size limit exceeded" beyond 9 cookies
     */
    public static List<Chunk> split(String name, String encodedHeader, String payload) throws SessionCodecException {
        throw new UnsupportedOperationException("TODO");
    }

    /** How many cookies a payload of {@code dataSize} characters takes under {@code name}. */
    public static int chunkCount(String name, int dataSize) throws SessionCodecException {
        throw new UnsupportedOperationException("TODO");
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
        throw new UnsupportedOperationException("TODO");
    }

    public record Chunk(String name, String value) {
    }
}
