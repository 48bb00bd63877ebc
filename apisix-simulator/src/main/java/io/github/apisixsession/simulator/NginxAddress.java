package io.github.apisixsession.simulator;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * A client's address as nginx holds it: {@code $binary_remote_addr} (4 bytes for an IPv4 socket,
 * 16 for an IPv6 one, IPv4-mapped clients of a dual-stack listener included) and
 * {@code $remote_addr}, the text {@code ngx_inet6_ntop} makes of those bytes (measured on nginx
 * 1.22: {@code 2001:db8::1}, {@code ::ffff:1.2.3.4}, {@code ::0.0.1.2} for {@code ::102}).
 */
public final class NginxAddress {

    private NginxAddress() {
    }

    /** {@code $binary_remote_addr} of a client written in any literal form; 127.0.0.1 for no literal. */
    public static byte[] binary(String literal) {
        try {
            InetAddress a = InetAddress.getByName(literal);
            byte[] raw = a.getAddress();
            if (a instanceof Inet4Address && literal.indexOf(':') >= 0) {
                // Java folds ::ffff:a.b.c.d into IPv4; nginx keeps the IPv6 socket's 16 bytes
                byte[] mapped = new byte[16];
                mapped[10] = (byte) 0xFF;
                mapped[11] = (byte) 0xFF;
                System.arraycopy(raw, 0, mapped, 12, 4);
                return mapped;
            }
            return raw;
        } catch (UnknownHostException e) {
            return new byte[] {127, 0, 0, 1};
        }
    }

    /** {@code $remote_addr}: nginx's text of {@code $binary_remote_addr}. */
    public static String text(byte[] ip) {
        if (ip.length == 4) {
            return quad(ip, 0);
        }
        int[] words = new int[8];
        for (int w = 0; w < 8; w++) {
            words[w] = (ip[2 * w] & 0xFF) << 8 | (ip[2 * w + 1] & 0xFF);
        }
        // the first longest run of at least two zero words
        int bestStart = -1;
        int bestLength = 1;
        for (int w = 0; w < 8; ) {
            int end = w;
            while (end < 8 && words[end] == 0) {
                end++;
            }
            if (end - w > bestLength) {
                bestStart = w;
                bestLength = end - w;
            }
            w = end == w ? w + 1 : end;
        }
        boolean tailIsIpv4 = bestStart == 0 && ((bestLength == 5 && words[5] == 0xFFFF) || bestLength == 6
                || (bestLength == 7 && ip[14] != 0 && ip[15] != 1));
        int lastWord = tailIsIpv4 ? 6 : 8;
        StringBuilder out = new StringBuilder(bestStart == 0 ? ":" : "");
        for (int w = 0; w < lastWord; w++) {
            if (w == bestStart) {
                out.append(':');
                w += bestLength - 1;
                continue;
            }
            out.append(Integer.toHexString(words[w]));
            if (w < 7) {
                out.append(':');
            }
        }
        return tailIsIpv4 ? out.append(quad(ip, 12)).toString() : out.toString();
    }

    private static String quad(byte[] ip, int at) {
        return String.format("%d.%d.%d.%d", ip[at] & 0xFF, ip[at + 1] & 0xFF, ip[at + 2] & 0xFF, ip[at + 3] & 0xFF);
    }
}
