package io.github.apisixsession.core.codec;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BindingTest {

    private static final long T0 = 1_700_000_000L;
    private final SessionCodec codec = new SessionCodec(List.of(SessionCodec.ikmOf("binding-secret")), 1024);
    private final SessionCodec.Timeouts timeouts = new SessionCodec.Timeouts(900, 3600, 86400);

    @Test
    void macSuffixIsLuaRestySessions() throws Exception {
        Binding b = new Binding("10.0.0.1", "https", "Firefox");
        byte[] expected = MessageDigest.getInstance("SHA-256").digest("10.0.0.1|Firefox".getBytes(StandardCharsets.UTF_8));
        byte[] suffix = b.macSuffix(Binding.FLAG_BIND_IP | Binding.FLAG_BIND_USER_AGENT);
        assertEquals('#', suffix[0]);
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(suffix, 1, suffix.length));
        assertNull(b.macSuffix(0), "no flag, no suffix");
        assertNull(new Binding("", null, "").macSuffix(Binding.FLAGS), "all values empty, no suffix");
    }

    @Test
    void aBoundCookieOpensOnlyWithTheSameFacts() throws Exception {
        Binding firefox = new Binding("10.0.0.1", "https", "Firefox");
        int flags = Binding.FLAG_BIND_IP | Binding.FLAG_BIND_SCHEME | Binding.FLAG_BIND_USER_AGENT;
        SessionCodec.Sealed sealed = codec.seal(SessionCodec.newSessionId(), flags, T0, 0, 0,
                "[[{},\"default\"]]".getBytes(StandardCharsets.UTF_8), KeyDerivation.HKDF, firefox);
        String cookie = sealed.encodedHeader() + sealed.payload();
        SessionCodec.Verified v = codec.verifyHeader(cookie, false, false, timeouts, T0, firefox);
        assertEquals(flags, v.header().flags());
        for (Binding other : List.of(new Binding("10.0.0.2", "https", "Firefox"),
                new Binding("10.0.0.1", "http", "Firefox"), new Binding("10.0.0.1", "https", "curl"), Binding.NONE)) {
            SessionCodecException e = assertThrows(SessionCodecException.class,
                    () -> codec.verifyHeader(cookie, false, false, timeouts, T0, other));
            assertEquals("invalid session message authentication code", e.reason());
        }
        String touched = codec.touch(v, 120, firefox);
        assertEquals(120, codec.verifyHeader(touched + sealed.payload(), false, false, timeouts, T0 + 130, firefox)
                .header().idlingOffset());
    }

    @Test
    void oneClientHasOneMacWhateverFormItsAddressCameIn() {
        int ip = Binding.FLAG_BIND_IP;
        byte[] nginx = new Binding("2001:db8::1", null, null).macSuffix(ip);
        for (String form : List.of("2001:db8:0:0:0:0:0:1", "2001:DB8::1", "2001:0db8::0001", "[2001:db8::1]")) {
            assertArrayEquals(nginx, new Binding(form, null, null).macSuffix(ip), form);
        }
        assertEquals("::ffff:10.1.2.3", new Binding("::FFFF:10.1.2.3", null, null).remoteAddr());
        assertFalse(java.util.Arrays.equals(new Binding("10.1.2.3", null, null).macSuffix(ip),
                new Binding("::ffff:10.1.2.3", null, null).macSuffix(ip)), "nginx tells a mapped client from an IPv4 one");
        assertEquals("unix:", new Binding("unix:", null, null).remoteAddr());
    }
}
