package io.github.apisixsession.core.codec;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The request facts a bound session's MAC covers (lua-resty-session 4.1 {@code bind}): which ones
 * is decided by the cookie's BIND flags; the values come from the request being served. The
 * address is kept as nginx prints {@code $remote_addr} ({@link ClientAddress}), whatever form it
 * was given in, so the request phase (APISIX's {@code src_ip} bytes) and the response phase
 * (the {@code remote_addr} variable) bind one client to one MAC, as lua-resty-session does.
 */
public record Binding(String remoteAddr, String scheme, String userAgent) {

    public Binding {
        remoteAddr = ClientAddress.canonical(remoteAddr);
    }

    public static final int FLAG_BIND_IP = 0x0100;
    public static final int FLAG_BIND_SCHEME = 0x0200;
    public static final int FLAG_BIND_USER_AGENT = 0x0400;
    public static final int FLAGS = FLAG_BIND_IP | FLAG_BIND_SCHEME | FLAG_BIND_USER_AGENT;

    /** No request facts: a bound cookie then verifies only where lua's would (all values empty). */
    public static final Binding NONE = new Binding(null, null, null);

    /**
     * What lua-resty-session appends to the MAC input: {@code "#" || sha256(values joined by "|")},
     * skipping empty values, or nothing when no flag is set or every value is empty.
     */
    byte[] macSuffix(int flags) {
        if ((flags & FLAGS) == 0) {
            return null;
        }
        StringBuilder bound = new StringBuilder();
        append(bound, (flags & FLAG_BIND_IP) != 0 ? remoteAddr : null);
        append(bound, (flags & FLAG_BIND_SCHEME) != 0 ? scheme : null);
        append(bound, (flags & FLAG_BIND_USER_AGENT) != 0 ? userAgent : null);
        if (bound.length() == 0) {
            return null;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bound.toString().getBytes(StandardCharsets.UTF_8));
            byte[] suffix = new byte[1 + digest.length];
            suffix[0] = '#';
            System.arraycopy(digest, 0, suffix, 1, digest.length);
            return suffix;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    private static void append(StringBuilder bound, String value) {
        if (value != null && !value.isEmpty()) {
            if (bound.length() > 0) {
                bound.append('|');
            }
            bound.append(value);
        }
    }
}
