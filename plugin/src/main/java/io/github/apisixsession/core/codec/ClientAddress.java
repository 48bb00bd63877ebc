package io.github.apisixsession.core.codec;

/**
 * A client address written as nginx writes {@code $remote_addr}, which is what lua-resty-session
 * 4.1 puts into a bound cookie's MAC: IPv4 dotted, IPv6 as nginx's {@code ngx_inet6_ntop} prints
 * it (RFC 5952: lower-case hex, no leading zeros, the first longest run of two or more zero
 * fields as {@code ::}; plus nginx's mixed forms {@code ::ffff:1.2.3.4} for IPv4-mapped and
 * {@code ::1.2.3.4} for IPv4-compatible addresses). Both phases and every host render through
 * here, so one client always yields one text whatever form or bytes it arrived in.
 */
public final class ClientAddress {

    private ClientAddress() {
    }

    /**
     * The text of {@code $binary_remote_addr}'s bytes (APISIX's {@code src_ip}): 4 bytes IPv4,
     * 16 bytes IPv6; anything else is no address ({@code ""}).
     */
    public static String of(byte[] ip) {
        if (ip == null) {
            return "";
        }
        if (ip.length == 4) {
            return dotted(ip, 0);
        }
        return ip.length == 16 ? ipv6(ip) : "";
    }

    /**
     * The address in {@code text} as nginx would print it; text that is no IP address literal
     * (e.g. nginx's {@code "unix:"}) is returned as it is. A zone ({@code %eth0}) is dropped, as
     * nginx prints none.
     */
    public static String canonical(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        byte[] ip = text.indexOf(':') >= 0 ? parseIpv6(text) : parseIpv4(text);
        return ip == null ? text : of(ip);
    }

    /** {@code ngx_inet6_ntop}, field by field. */
    private static String ipv6(byte[] p) {
        int zero = -1;
        int max = 1;
        int run = 0;
        int runStart = -1;
        for (int i = 0; i < 16; i += 2) {
            if (p[i] != 0 || p[i + 1] != 0) {
                if (max < run) {
                    zero = runStart;
                    max = run;
                }
                run = 0;
                continue;
            }
            if (run++ == 0) {
                runStart = i;
            }
        }
        if (max < run) {
            zero = runStart;
            max = run;
        }
        StringBuilder out = new StringBuilder(39);
        int fields = 16;
        if (zero == 0) {
            boolean mapped = max == 5 && (p[10] & 0xFF) == 0xFF && (p[11] & 0xFF) == 0xFF;
            boolean compatible = max == 6 || (max == 7 && p[14] != 0 && p[15] != 1);
            if (mapped || compatible) {
                fields = 12;
            }
            out.append(':');
        }
        for (int i = 0; i < fields; i += 2) {
            if (i == zero) {
                out.append(':');
                i += (max - 1) * 2;
                continue;
            }
            out.append(Integer.toHexString((p[i] & 0xFF) << 8 | (p[i + 1] & 0xFF)));
            if (i < 14) {
                out.append(':');
            }
        }
        if (fields == 12) {
            out.append(dotted(p, 12));
        }
        return out.toString();
    }

    private static String dotted(byte[] ip, int from) {
        return (ip[from] & 0xFF) + "." + (ip[from + 1] & 0xFF) + "." + (ip[from + 2] & 0xFF) + "." + (ip[from + 3] & 0xFF);
    }

    /** Four decimal parts 0..255, or null. */
    private static byte[] parseIpv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] ip = new byte[4];
        for (int i = 0; i < 4; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int value = Integer.parseInt(part);
            if (value > 255) {
                return null;
            }
            ip[i] = (byte) value;
        }
        return ip;
    }

    /** RFC 4291 §2.2 text (with at most one {@code ::} and an optional trailing IPv4), or null. */
    private static byte[] parseIpv6(String text) {
        String s = text;
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        int zone = s.indexOf('%');
        if (zone >= 0) {
            s = s.substring(0, zone);
        }
        int gap = s.indexOf("::");
        if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        byte[] head = gap >= 0 ? fields(s.substring(0, gap), false) : fields(s, true);
        byte[] tail = gap >= 0 ? fields(s.substring(gap + 2), true) : new byte[0];
        if (head == null || tail == null) {
            return null;
        }
        int total = head.length + tail.length;
        if (gap >= 0 ? total > 14 : total != 16) {
            return null;
        }
        byte[] ip = new byte[16];
        System.arraycopy(head, 0, ip, 0, head.length);
        System.arraycopy(tail, 0, ip, 16 - tail.length, tail.length);
        return ip;
    }

    /** Colon-separated hex fields (the last may be IPv4 when {@code ipv4Last}) as bytes, or null. */
    private static byte[] fields(String s, boolean ipv4Last) {
        if (s.isEmpty()) {
            return new byte[0];
        }
        String[] parts = s.split(":", -1);
        byte[] out = new byte[parts.length * 2 + 2];
        int n = 0;
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            if (ipv4Last && i == parts.length - 1 && part.indexOf('.') >= 0) {
                byte[] v4 = parseIpv4(part);
                if (v4 == null) {
                    return null;
                }
                System.arraycopy(v4, 0, out, n, 4);
                n += 4;
                continue;
            }
            if (part.isEmpty() || part.length() > 4) {
                return null;
            }
            int value;
            try {
                value = Integer.parseInt(part, 16);
            } catch (NumberFormatException e) {
                return null;
            }
            if (part.charAt(0) == '+' || part.charAt(0) == '-') {
                return null;
            }
            out[n++] = (byte) (value >> 8);
            out[n++] = (byte) value;
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
