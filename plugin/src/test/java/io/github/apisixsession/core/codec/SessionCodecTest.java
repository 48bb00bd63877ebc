package io.github.apisixsession.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class SessionCodecTest {

    private static final long T0 = 1_700_000_000L;
    private static final SessionCodec.Timeouts KONG = new SessionCodec.Timeouts(900, 3600, 86400);
    private static final SessionCodec.Timeouts NONE = new SessionCodec.Timeouts(0, 0, 0);
    private static final SessionCodec.Timeouts REMEMBER = new SessionCodec.Timeouts(0, 604800, 2592000);
    private static final byte[] OLD = SessionCodec.ikmOf("old-secret");
    private static final byte[] NEW = SessionCodec.ikmOf("new-secret");
    private static final byte[] PLAIN = "[[{\"user\":\"alice\"},\"default\"]]".getBytes(StandardCharsets.UTF_8);
    private static final AtomicInteger SIDS = new AtomicInteger();

    /** A session id no other seal of this run used: one id never seals two plaintexts. */
    private static byte[] sid() {
        byte[] sid = new byte[32];
        int n = SIDS.incrementAndGet();
        for (int i = 0; i < sid.length; i++) {
            sid[i] = (byte) (i * 7 + 1);
        }
        sid[0] = (byte) n;
        sid[1] = (byte) (n >>> 8);
        return sid;
    }

    private final SessionCodec codec = new SessionCodec(List.of(NEW), 1024);

    private static String cookie(SessionCodec.Sealed s) {
        return s.encodedHeader() + s.payload();
    }

    private static byte[] open(SessionCodec c, String cookie, boolean storage, SessionCodec.Timeouts t, long now)
            throws SessionCodecException {
        SessionCodec.Verified v = c.verifyHeader(cookie, storage, false, t, now);
        String payload = CookieChunker.join("session", cookie, v.header().dataSize(), n -> null);
        return c.decrypt(v, payload, KeyDerivation.HKDF);
    }

    private static String reason(ThrowingRunnable r) {
        return assertThrows(SessionCodecException.class, r::run).reason();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    // ------------------------------------------------------------------ round trip

    @Test
    void roundTrip() throws Exception {
        byte[] sid = sid();
        SessionCodec.Sealed s = codec.seal(sid, 0, T0, 5, 7, PLAIN, KeyDerivation.HKDF);
        assertEquals(SessionHeader.ENCODED_SIZE, s.encodedHeader().length());
        assertEquals(Base64Url.encodedLength(PLAIN.length), s.payload().length());
        SessionCodec.Verified v = codec.verifyHeader(cookie(s), false, false, KONG, T0 + 10);
        assertEquals(0, v.ikmIndex());
        SessionHeader h = v.header();
        assertArrayEquals(sid, h.sid());
        assertEquals(T0, h.creationTime());
        assertEquals(5, h.rollingOffset());
        assertEquals(7, h.idlingOffset());
        assertEquals(s.payload().length(), h.dataSize());
        assertArrayEquals(s.header().tag(), h.tag());
        assertArrayEquals(s.header().mac(), h.mac());
        assertEquals(s.encodedHeader(), Base64Url.encode(h.toBytes()));
        assertArrayEquals(PLAIN, codec.decrypt(v, s.payload(), KeyDerivation.HKDF));
    }

    @Test
    void rememberCookieUsesPbkdf2ForTheKeyOnly() throws Exception {
        KeyDerivation low = KeyDerivation.pbkdf2(1000);
        SessionCodec.Sealed s = codec.seal(sid(), 0, T0, 0, 0, PLAIN, low);
        SessionCodec.Verified v = codec.verifyHeader(cookie(s), false, true, REMEMBER, T0 + 10);
        assertArrayEquals(PLAIN, codec.decrypt(v, s.payload(), low));
        assertEquals(SessionCodec.ERR_DECRYPT, reason(() -> codec.decrypt(v, s.payload(), KeyDerivation.HKDF)));
        assertEquals(SessionCodec.ERR_DECRYPT, reason(() -> codec.decrypt(v, s.payload(), KeyDerivation.pbkdf2(1001))));
        // a remember cookie must not carry an idling offset
        SessionCodec.Sealed idled = codec.seal(sid(), 0, T0, 0, 1, PLAIN, low);
        assertEquals("invalid session idling offset",
                reason(() -> codec.verifyHeader(cookie(idled), false, true, REMEMBER, T0 + 10)));
    }

    @Test
    void newSessionIdsAreRandom32Bytes() {
        byte[] a = SessionCodec.newSessionId();
        byte[] b = SessionCodec.newSessionId();
        assertEquals(32, a.length);
        assertFalse(Arrays.equals(a, b));
    }

    // ------------------------------------------------------------------ tampering

    @Test
    void everyHeaderByteFlipIsRejected() throws Exception {
        SessionCodec.Sealed s = codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF);
        byte[] header = Base64Url.decode(s.encodedHeader());
        for (int i = 0; i < SessionHeader.SIZE; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] h = header.clone();
                h[i] ^= (byte) (1 << bit);
                String c = Base64Url.encode(h) + s.payload();
                String r = reason(() -> open(codec, c, false, KONG, T0 + 10));
                if (i == 0) {
                    assertEquals("invalid session cookie type", r);
                } else if (i == 1 && bit == 0) {
                    assertEquals("invalid session flags", r);
                } else if (i == 10 || i >= SessionHeader.TAG_OFFSET && i < SessionHeader.IDLING_OFFSET || i >= 66) {
                    assertEquals(SessionCodec.ERR_MAC, r, "byte " + i);
                }
            }
        }
    }

    @Test
    void payloadByteFlipFailsDecryption() throws Exception {
        SessionCodec.Sealed s = codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF);
        byte[] ct = Base64Url.decode(s.payload());
        for (int i = 0; i < ct.length; i++) {
            byte[] m = ct.clone();
            m[i] ^= 0x40;
            String c = s.encodedHeader() + Base64Url.encode(m);
            assertEquals(SessionCodec.ERR_DECRYPT, reason(() -> open(codec, c, false, KONG, T0 + 10)));
        }
    }

    @Test
    void truncatedCookiesAreRejected() throws Exception {
        String c = cookie(codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF));
        for (int len = 0; len < c.length(); len++) {
            String t = c.substring(0, len);
            String r = reason(() -> open(codec, t, false, KONG, T0 + 10));
            if (len < SessionHeader.ENCODED_SIZE) {
                assertEquals("invalid session header", r);
            }
        }
        assertEquals("missing session cookie", reason(() -> open(codec, null, false, KONG, T0)));
    }

    @Test
    void garbageIsRejected() {
        Random rnd = new Random(42);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ %;\u00e9\u0000";
        for (int n = 0; n < 2000; n++) {
            int len = rnd.nextInt(400);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < len; i++) {
                sb.append(alphabet.charAt(rnd.nextInt(n % 2 == 0 ? 64 : alphabet.length())));
            }
            String c = sb.toString();
            assertThrows(SessionCodecException.class, () -> open(codec, c, false, NONE, T0));
        }
        assertEquals("unable to base64url decode session header (invalid input)",
                reason(() -> open(codec, "=".repeat(200), false, NONE, T0)));
    }

    @Test
    void wrongSecretIsAMacError() throws Exception {
        String c = cookie(codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF));
        SessionCodec other = new SessionCodec(List.of(OLD), 1024);
        assertEquals(SessionCodec.ERR_MAC, reason(() -> open(other, c, false, KONG, T0 + 10)));
    }

    // ------------------------------------------------------------------ timeouts (lua uses ">")

    @Test
    void absoluteTimeoutBoundary() throws Exception {
        String c = cookie(codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF));
        SessionCodec.Timeouts t = new SessionCodec.Timeouts(0, 0, 86400);
        assertArrayEquals(PLAIN, open(codec, c, false, t, T0 + 86400));
        assertEquals("session absolute timeout exceeded", reason(() -> open(codec, c, false, t, T0 + 86401)));
        assertEquals("session remember absolute timeout exceeded",
                reason(() -> codec.verifyHeader(c, false, true, t, T0 + 86401)));
    }

    @Test
    void rollingTimeoutBoundary() throws Exception {
        String c = cookie(codec.seal(sid(), 0, T0, 100, 0, PLAIN, KeyDerivation.HKDF));
        SessionCodec.Timeouts t = new SessionCodec.Timeouts(0, 3600, 86400);
        assertArrayEquals(PLAIN, open(codec, c, false, t, T0 + 100 + 3600));
        assertEquals("session rolling timeout exceeded", reason(() -> open(codec, c, false, t, T0 + 100 + 3601)));
        assertEquals("session remember rolling timeout exceeded",
                reason(() -> codec.verifyHeader(c, false, true, t, T0 + 100 + 3601)));
    }

    @Test
    void idlingTimeoutBoundary() throws Exception {
        String c = cookie(codec.seal(sid(), 0, T0, 100, 50, PLAIN, KeyDerivation.HKDF));
        assertArrayEquals(PLAIN, open(codec, c, false, KONG, T0 + 100 + 50 + 900));
        assertEquals("session idling timeout exceeded", reason(() -> open(codec, c, false, KONG, T0 + 100 + 50 + 901)));
    }

    @Test
    void timeoutsAreCheckedBeforeTheMac() throws Exception {
        // lua order: a forged header with stale times reports the timeout, not the MAC
        byte[] h = Base64Url.decode(codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF).encodedHeader());
        h[70] ^= 1;
        String c = Base64Url.encode(h);
        assertEquals("session absolute timeout exceeded", reason(() -> codec.verifyHeader(c, false, false, KONG, T0 + 86401)));
        assertEquals(SessionCodec.ERR_MAC, reason(() -> codec.verifyHeader(c, false, false, KONG, T0)));
    }

    @Test
    void zeroTimeoutsDisableChecksUpToTheLifetimeLimit() throws Exception {
        String c = cookie(codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF));
        assertArrayEquals(PLAIN, open(codec, c, false, NONE, T0 + SessionHeader.MAX_ROLLING_OFFSET));
        assertEquals("session lifetime exceeded",
                reason(() -> open(codec, c, false, NONE, T0 + SessionHeader.MAX_ROLLING_OFFSET + 1)));
    }

    @Test
    void oneSessionIdNeverSealsTwoPlaintexts() throws Exception {
        byte[] sid = sid();
        SessionCodec.Sealed first = codec.seal(sid, 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF);
        // the same key and IV again would reuse the GCM nonce: refused, never retried
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> codec.seal(sid, 0, T0, 1, 0, "[[{},\"other\"]]".getBytes(StandardCharsets.UTF_8),
                        KeyDerivation.HKDF));
        assertTrue(e.getMessage().contains("sealed twice"), e.getMessage());
        // a touch re-MACs the header only: same ciphertext, no encryption
        SessionCodec.Verified v = codec.verifyHeader(cookie(first), false, false, KONG, T0 + 5);
        String touched = codec.touch(v, 5);
        assertArrayEquals(PLAIN, open(codec, touched + first.payload(), false, KONG, T0 + 6));
        // a fresh id seals again
        assertArrayEquals(PLAIN, open(codec, cookie(codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF)),
                false, KONG, T0));
    }

    // ------------------------------------------------------------------ storage and secrets

    @Test
    void storageFlagMustMatchTheConfiguration() throws Exception {
        SessionCodec.Sealed stored = codec.seal(sid(), SessionHeader.FLAG_STORAGE, T0, 0, 0, PLAIN, KeyDerivation.HKDF);
        SessionCodec.Sealed cookie = codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF);
        assertEquals("invalid session flags",
                reason(() -> codec.verifyHeader(stored.encodedHeader(), false, false, KONG, T0)));
        assertEquals("invalid session flags", reason(() -> codec.verifyHeader(cookie(cookie), true, false, KONG, T0)));
        // storage mode: the cookie is the header alone, the ciphertext lives in the store
        SessionCodec.Verified v = codec.verifyHeader(stored.encodedHeader(), true, false, KONG, T0);
        assertTrue(v.header().hasFlag(SessionHeader.FLAG_STORAGE));
        assertArrayEquals(PLAIN, codec.decrypt(v, stored.payload(), KeyDerivation.HKDF));
        assertEquals("invalid session payload",
                reason(() -> codec.decrypt(v, stored.payload().substring(1), KeyDerivation.HKDF)));
    }

    @Test
    void secretRotation() throws Exception {
        SessionCodec old = new SessionCodec(List.of(OLD), 1024);
        SessionCodec rotated = new SessionCodec(List.of(NEW, SessionCodec.ikmOf("unrelated"), OLD), 1024);
        String c = cookie(old.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF));
        SessionCodec.Verified v = rotated.verifyHeader(c, false, false, KONG, T0 + 100);
        assertEquals(2, v.ikmIndex());
        assertArrayEquals(PLAIN, rotated.decrypt(v, c.substring(SessionHeader.ENCODED_SIZE), KeyDerivation.HKDF));

        // touch keeps the fallback key (lua's meta.ikm)
        String touched = rotated.touch(v, 100) + c.substring(SessionHeader.ENCODED_SIZE);
        SessionCodec.Verified tv = old.verifyHeader(touched, false, false, KONG, T0 + 100);
        assertEquals(100, tv.header().idlingOffset());
        assertEquals(SessionCodec.ERR_MAC, reason(() -> codec.verifyHeader(touched, false, false, KONG, T0 + 100)));

        // new seals use the primary
        String fresh = cookie(rotated.seal(sid(), 0, T0, 100, 0, PLAIN, KeyDerivation.HKDF));
        assertEquals(0, codec.verifyHeader(fresh, false, false, KONG, T0 + 100).ikmIndex());
        assertEquals(SessionCodec.ERR_MAC, reason(() -> old.verifyHeader(fresh, false, false, KONG, T0 + 100)));
    }

    @Test
    void touchCapsTheIdlingOffsetLikeLua() throws Exception {
        SessionCodec.Sealed s = codec.seal(sid(), 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF);
        SessionCodec.Verified v = codec.verifyHeader(cookie(s), false, false, NONE, T0);
        String h = codec.touch(v, SessionHeader.MAX_IDLING_OFFSET + 5);
        assertEquals(SessionHeader.MAX_IDLING_OFFSET,
                codec.verifyHeader(h + s.payload(), false, false, NONE, T0).header().idlingOffset());
    }

    @Test
    void invalidArgumentsAreProgrammerErrors() {
        assertThrows(IllegalArgumentException.class, () -> new SessionCodec(List.of(), 0));
        assertThrows(IllegalArgumentException.class, () -> new SessionCodec(List.of(new byte[31]), 0));
        assertThrows(IllegalArgumentException.class, () -> new SessionCodec(List.of(NEW), -1));
        assertThrows(IllegalArgumentException.class, () -> codec.seal(new byte[31], 0, T0, 0, 0, PLAIN, KeyDerivation.HKDF));
        assertThrows(IllegalArgumentException.class, () -> codec.seal(sid(), 0, -1, 0, 0, PLAIN, KeyDerivation.HKDF));
        assertThrows(IllegalArgumentException.class, () -> codec.seal(sid(), 0, T0, 1L << 32, 0, PLAIN, KeyDerivation.HKDF));
        assertThrows(IllegalArgumentException.class, () -> codec.seal(sid(), 0, T0, 0, 1L << 24, PLAIN, KeyDerivation.HKDF));
        assertThrows(IllegalArgumentException.class, () -> codec.seal(sid(), 0, T0, 0, 0, new byte[0], KeyDerivation.HKDF));
        assertThrows(IllegalArgumentException.class, () -> KeyDerivation.pbkdf2(-1));
    }

    // ------------------------------------------------------------------ compression

    @Test
    void compressionThreshold() throws Exception {
        byte[] at = "a".repeat(1024).getBytes(StandardCharsets.US_ASCII);
        byte[] over = "a".repeat(1025).getBytes(StandardCharsets.US_ASCII);
        assertFalse(codec.seal(sid(), 0, T0, 0, 0, at, KeyDerivation.HKDF).header().hasFlag(SessionHeader.FLAG_DEFLATE));
        SessionCodec.Sealed deflated = codec.seal(sid(), 0, T0, 0, 0, over, KeyDerivation.HKDF);
        assertTrue(deflated.header().hasFlag(SessionHeader.FLAG_DEFLATE));
        assertTrue(deflated.payload().length() < 100);
        assertArrayEquals(over, open(codec, cookie(deflated), false, KONG, T0));

        byte[] random = new byte[3000];
        new Random(1).nextBytes(random);
        SessionCodec.Sealed incompressible = codec.seal(sid(), 0, T0, 0, 0, random, KeyDerivation.HKDF);
        assertFalse(incompressible.header().hasFlag(SessionHeader.FLAG_DEFLATE));
        assertEquals(Base64Url.encodedLength(3000), incompressible.payload().length());

        SessionCodec off = new SessionCodec(List.of(NEW), 0);
        assertFalse(off.seal(sid(), 0, T0, 0, 0, over, KeyDerivation.HKDF).header().hasFlag(SessionHeader.FLAG_DEFLATE));
        // a caller cannot force DEFLATE on
        assertFalse(codec.seal(sid(), SessionHeader.FLAG_DEFLATE, T0, 0, 0, at, KeyDerivation.HKDF)
                .header().hasFlag(SessionHeader.FLAG_DEFLATE));
    }

    @Test
    void zipBombAndBadDeflateAreRejected() throws Exception {
        byte[] bomb = RawDeflate.deflate(new byte[SessionCodec.MAX_PLAINTEXT_SIZE + 1]);
        SessionCodec.Sealed s = codec.sealBody(0, sid(), SessionHeader.FLAG_STORAGE | SessionHeader.FLAG_DEFLATE,
                T0, 0, 0, bomb, KeyDerivation.HKDF);
        SessionCodec.Verified v = codec.verifyHeader(s.encodedHeader(), true, false, KONG, T0);
        assertEquals("unable to inflate session data (size limit exceeded)",
                reason(() -> codec.decrypt(v, s.payload(), KeyDerivation.HKDF)));

        SessionCodec.Sealed junk = codec.sealBody(0, sid(), SessionHeader.FLAG_DEFLATE, T0, 0, 0,
                new byte[] {(byte) 0xff, (byte) 0xff, 1, 2, 3}, KeyDerivation.HKDF);
        assertTrue(reason(() -> open(codec, cookie(junk), false, KONG, T0)).startsWith("unable to inflate session data ("));

        byte[] good = RawDeflate.deflate("x".repeat(5000).getBytes(StandardCharsets.US_ASCII));
        SessionCodec.Sealed truncated = codec.sealBody(0, sid(), SessionHeader.FLAG_DEFLATE, T0, 0, 0,
                Arrays.copyOf(good, good.length / 2), KeyDerivation.HKDF);
        assertTrue(reason(() -> open(codec, cookie(truncated), false, KONG, T0)).startsWith("unable to inflate session data ("));

        assertThrows(IllegalArgumentException.class,
                () -> codec.seal(sid(), 0, T0, 0, 0, new byte[SessionCodec.MAX_PLAINTEXT_SIZE + 1], KeyDerivation.HKDF));
    }

    // ------------------------------------------------------------------ chunking

    @Test
    void chunkCountBoundaries() throws Exception {
        assertEquals(1, CookieChunker.chunkCount("session", 3978));
        assertEquals(2, CookieChunker.chunkCount("session", 3979));
        int max = 0;
        while (true) {
            try {
                CookieChunker.chunkCount("session", max + 1);
                max++;
            } catch (SessionCodecException e) {
                assertEquals("cookie size limit exceeded", e.reason());
                break;
            }
        }
        assertEquals(9, CookieChunker.chunkCount("session", max));
        // 9 * 4096 minus "session=" + header, minus 8 * ("sessionN=")
        assertEquals(9 * 4096 - (7 + 1 + 110) - 8 * (7 + 2), max);
        assertEquals("cookie size limit exceeded",
                assertThrows(SessionCodecException.class, () -> CookieChunker.chunkCount("session", -1)).reason());
    }

    @Test
    void splitAndJoin() throws Exception {
        Random rnd = new Random(7);
        String header = "H".repeat(SessionHeader.ENCODED_SIZE);
        for (int size : new int[] {0, 1, 3978, 3979, 8000, 12000, 36000 - 300}) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < size; i++) {
                sb.append((char) ('a' + rnd.nextInt(26)));
            }
            String payload = sb.toString();
            List<CookieChunker.Chunk> chunks = CookieChunker.split("sid", header, payload);
            assertEquals(CookieChunker.chunkCount("sid", size), chunks.size());
            Map<String, String> jar = new HashMap<>();
            for (int i = 0; i < chunks.size(); i++) {
                CookieChunker.Chunk c = chunks.get(i);
                assertEquals(i == 0 ? "sid" : "sid" + (i + 1), c.name());
                assertTrue(c.name().length() + 1 + c.value().length() <= 4096);
                jar.put(c.name(), c.value());
            }
            if (size > 0) {
                assertEquals(payload, CookieChunker.join("sid", jar.get("sid"), size, jar::get));
            }
            if (chunks.size() > 1) {
                Map<String, String> missing = new HashMap<>(jar);
                missing.remove("sid" + chunks.size());
                assertEquals("missing session cookie chunk", assertThrows(SessionCodecException.class,
                        () -> CookieChunker.join("sid", jar.get("sid"), size, missing::get)).reason());
                Map<String, String> longer = new HashMap<>(jar);
                longer.put("sid2", jar.get("sid2") + "x");
                assertEquals("invalid session payload", assertThrows(SessionCodecException.class,
                        () -> CookieChunker.join("sid", jar.get("sid"), size, longer::get)).reason());
            }
        }
        assertEquals("cookie size limit exceeded", assertThrows(SessionCodecException.class,
                () -> CookieChunker.split("session", header, "x".repeat(40000))).reason());
        assertEquals("cookie size limit exceeded", assertThrows(SessionCodecException.class,
                () -> CookieChunker.join("session", header, 40000, n -> "x")).reason());
    }

    @Test
    void singleChunkPayloadIsReadFromTheEnd() throws Exception {
        assertEquals("abcd", CookieChunker.join("session", "X".repeat(120) + "abcd", 4, n -> null));
        assertEquals("invalid session payload", assertThrows(SessionCodecException.class,
                () -> CookieChunker.join("session", "X".repeat(110), 0, n -> null)).reason());
        assertEquals("invalid session payload", assertThrows(SessionCodecException.class,
                () -> CookieChunker.join("session", "X".repeat(112), 200, n -> null)).reason());
    }

    @Test
    void chunkedSessionRoundTrip() throws Exception {
        byte[] big = new byte[20000];
        new Random(3).nextBytes(big);
        SessionCodec.Sealed s = codec.seal(sid(), 0, T0, 0, 0, big, KeyDerivation.HKDF);
        List<CookieChunker.Chunk> chunks = CookieChunker.split("session", s.encodedHeader(), s.payload());
        assertEquals(7, chunks.size());
        Map<String, String> jar = new HashMap<>();
        chunks.forEach(c -> jar.put(c.name(), c.value()));
        SessionCodec.Verified v = codec.verifyHeader(jar.get("session"), false, false, KONG, T0);
        String payload = CookieChunker.join("session", jar.get("session"), v.header().dataSize(), jar::get);
        assertArrayEquals(big, codec.decrypt(v, payload, KeyDerivation.HKDF));
    }

    // ------------------------------------------------------------------ Set-Cookie

    @Test
    void setCookieRendering() {
        CookieAttributes kong = new CookieAttributes(null, "/", "Strict", null, false, true, true);
        assertEquals("session=v; Path=/; SameSite=Strict; Secure; HttpOnly", SetCookieRenderer.render("session", "v", kong));
        CookieAttributes local = new CookieAttributes("localhost", "/x", "Default", "", true, false, false);
        assertEquals("s=v; Path=/x; Partitioned", SetCookieRenderer.render("s", "v", local));
        CookieAttributes none = new CookieAttributes("", "/", "None", "Low", false, false, true);
        assertEquals("s=v; Path=/; SameSite=None; Priority=Low; Secure; HttpOnly", SetCookieRenderer.render("s", "v", none));
        assertEquals("__Secure-s=v; Path=/; SameSite=Lax; Secure",
                SetCookieRenderer.render("__Secure-s", "v", new CookieAttributes(null, "/", "Lax", null, false, false, false)));
        assertEquals("s=; Path=/; SameSite=Strict; Secure; HttpOnly" + SetCookieRenderer.EXPIRED,
                SetCookieRenderer.renderExpired("s", kong));
        assertEquals("r=v; Path=/; SameSite=Strict; Secure; HttpOnly; Expires=Wed, 01 Nov 2023 00:00:00 GMT; Max-Age=604800",
                SetCookieRenderer.renderPersistent("r", "v", kong, 1698796800L, 604800));
    }

    // ------------------------------------------------------------------ primitives

    @Test
    void base64UrlIsStrict() throws Exception {
        Random rnd = new Random(5);
        for (int n = 0; n < 200; n++) {
            byte[] b = new byte[n];
            rnd.nextBytes(b);
            String e = Base64Url.encode(b);
            assertEquals(Base64Url.encodedLength(n), e.length());
            assertArrayEquals(b, Base64Url.decode(e));
        }
        for (String bad : new String[] {"A", "AAAAA", "AA==", "AB", "AAB", "a+b/", "ab c", "ab\u00e9d", "ab\nd"}) {
            assertEquals("invalid input", assertThrows(SessionCodecException.class, () -> Base64Url.decode(bad)).reason(), bad);
        }
        assertArrayEquals(new byte[0], Base64Url.decode(""));
        assertThrows(SessionCodecException.class, () -> Base64Url.decode(null));
    }

    @Test
    void hkdfMatchesRfc5869TestCase3() throws Exception {
        HexFormat hex = HexFormat.of();
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
        byte[] prk = mac.doFinal(hex.parseHex("0b".repeat(22)));
        assertEquals("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04", hex.formatHex(prk));
        byte[] okm = HmacKdf.hkdfExpand(new SecretKeySpec(prk, "HmacSHA256"), new byte[0], 42);
        assertEquals("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
                hex.formatHex(okm));
    }

    @Test
    void pbkdf2MatchesRfc7914AndTheJdk() throws Exception {
        HexFormat hex = HexFormat.of();
        assertEquals("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                        + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
                hex.formatHex(HmacKdf.pbkdf2("passwd".getBytes(StandardCharsets.US_ASCII),
                        "salt".getBytes(StandardCharsets.US_ASCII), 1, 64)));
        byte[] jdk = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec("password".toCharArray(), "salt!".getBytes(StandardCharsets.US_ASCII), 1000, 44 * 8))
                .getEncoded();
        assertArrayEquals(jdk, HmacKdf.pbkdf2("password".getBytes(StandardCharsets.US_ASCII),
                "salt!".getBytes(StandardCharsets.US_ASCII), 1000, 44));
    }

    @Test
    void concurrentUseIsSafe() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                futures.add(pool.submit(() -> {
                    Random rnd = new Random(seed);
                    for (int i = 0; i < 300; i++) {
                        byte[] plain = new byte[1 + rnd.nextInt(2500)];
                        rnd.nextBytes(plain);
                        byte[] sid = SessionCodec.newSessionId();
                        SessionCodec.Sealed s = codec.seal(sid, 0, T0, i, 0, plain, KeyDerivation.HKDF);
                        assertArrayEquals(plain, open(codec, cookie(s), false, KONG, T0 + i));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
