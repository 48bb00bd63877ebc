package io.github.apisixsession.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * 20,000 seeded random mutations of valid cookies: nothing but SessionCodecException may be
 * thrown, and a mutation is only accepted when it opens to the original header and plaintext.
 */
class SessionCodecMutationTest {

    private static final long T0 = 1_700_000_000L;
    private static final SessionCodec.Timeouts TIMEOUTS = new SessionCodec.Timeouts(900, 3600, 86400);
    private static final String CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/;. \u00e9";

    private final SessionCodec codec = new SessionCodec(List.of(SessionCodec.ikmOf("fuzz-secret")), 64);

    @Test
    void mutationsOfASmallCookie() throws Exception {
        fuzz("[[{\"user\":\"alice\"},\"default\",\"alice\"]]".getBytes(StandardCharsets.UTF_8), 12_000, 11L);
    }

    @Test
    void mutationsOfADeflatedCookie() throws Exception {
        fuzz(("[[{\"groups\":[" + "\"admin\",".repeat(40) + "\"x\"]},\"default\"]]").getBytes(StandardCharsets.UTF_8),
                5_000, 12L);
    }

    @Test
    void mutationsOfAChunkedCookie() throws Exception {
        byte[] plain = new byte[6000];
        new Random(1).nextBytes(plain);
        fuzz(plain, 3_000, 13L);
    }

    private void fuzz(byte[] plain, int rounds, long seed) throws Exception {
        byte[] sid = new byte[32];
        new Random(seed).nextBytes(sid);
        SessionCodec.Sealed sealed = codec.seal(sid, 0, T0, 0, 0, plain, KeyDerivation.HKDF);
        List<CookieChunker.Chunk> chunks = CookieChunker.split("session", sealed.encodedHeader(), sealed.payload());
        byte[] header = Base64Url.decode(sealed.encodedHeader());
        Random rnd = new Random(seed);
        int accepted = 0;
        for (int n = 0; n < rounds; n++) {
            Map<String, String> jar = new HashMap<>();
            chunks.forEach(c -> jar.put(c.name(), c.value()));
            CookieChunker.Chunk target = chunks.get(rnd.nextInt(chunks.size()));
            String mutated = mutate(jar.get(target.name()), rnd);
            if (mutated == null) {
                jar.remove(target.name());
            } else {
                jar.put(target.name(), mutated);
            }
            long now = T0 + rnd.nextInt(1000);
            try {
                SessionCodec.Verified v = codec.verifyHeader(jar.get("session"), false, false, TIMEOUTS, now);
                String payload = CookieChunker.join("session", jar.get("session"), v.header().dataSize(), jar::get);
                byte[] out = codec.decrypt(v, payload, KeyDerivation.HKDF);
                assertArrayEquals(header, v.header().toBytes(), "accepted a different header");
                assertTrue(payload.equals(sealed.payload()), "accepted a different payload");
                assertArrayEquals(plain, out);
                accepted++;
            } catch (SessionCodecException expected) {
                // rejected
            } catch (RuntimeException | Error e) {
                fail("mutation " + n + " threw " + e, e);
            }
        }
        assertTrue(accepted < rounds / 10, "too many accepted: " + accepted);
    }

    private static String mutate(String s, Random rnd) {
        int len = s.length();
        int pos = len == 0 ? 0 : rnd.nextInt(len);
        StringBuilder sb = new StringBuilder(s);
        switch (rnd.nextInt(9)) {
            case 0 -> sb.setCharAt(pos, CHARS.charAt(rnd.nextInt(CHARS.length())));
            case 1 -> sb.setCharAt(pos, (char) (sb.charAt(pos) ^ (1 << rnd.nextInt(7))));
            case 2 -> sb.deleteCharAt(pos);
            case 3 -> sb.insert(pos, CHARS.charAt(rnd.nextInt(CHARS.length())));
            case 4 -> sb.setLength(pos);
            case 5 -> sb.append(s, 0, Math.min(len, rnd.nextInt(50)));
            case 6 -> {
                int a = rnd.nextInt(Math.max(1, len));
                int b = rnd.nextInt(Math.max(1, len));
                char c = sb.charAt(a);
                sb.setCharAt(a, sb.charAt(b));
                sb.setCharAt(b, c);
            }
            case 7 -> {
                for (int i = 0; i < 1 + rnd.nextInt(8); i++) {
                    int p = rnd.nextInt(len);
                    sb.setCharAt(p, CHARS.charAt(rnd.nextInt(64)));
                }
            }
            default -> {
                return rnd.nextInt(4) == 0 ? null : "";
            }
        }
        return sb.toString();
    }
}
