package io.github.apisixsession.fuzz;

import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static io.github.apisixsession.hostile.HostileEngine.T0;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.apisixsession.core.codec.CookieChunker;
import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The codec alone: {@code verifyHeader} → {@code CookieChunker.join} → {@code decrypt} on a fuzzed
 * first cookie ({@link FuzzInput}: placeholders, one optional XOR; flag bit 0 selects the remember
 * mode), with the genuine chunks {@code session2} … available to the join.
 *
 * <p>Oracle: only {@link SessionCodecException} is thrown, and a value decrypts only when its
 * 110-character header is a genuine one and the payload it hands to {@code decrypt} is that
 * session's genuine payload (the codec reads like lua-resty-session: header from the start,
 * payload from the end; the engine adds the exact-length check, see CookieEngineFuzzTest). A
 * genuine cookie, unchanged, always decrypts.
 */
class SessionCodecFuzzTest {

    private static final SessionCodec CODEC = new SessionCodec(List.of(SessionCodec.ikmOf(SECRET)), 1024);
    private static final SessionCodec.Timeouts TIMEOUTS = new SessionCodec.Timeouts(900, 3600, 86400);
    private static final Map<String, String> CHUNKS = new HashMap<>();

    static {
        Genuine.CHUNKS.forEach(c -> CHUNKS.put(c.name(), c.value()));
    }

    @FuzzTest
    void verifyJoinDecrypt(byte[] data) {
        FuzzInput input = FuzzInput.of(data);
        String value = input.text();
        boolean remember = (input.flags() & 1) != 0;
        String payload;
        byte[] plain;
        try {
            SessionCodec.Verified verified = CODEC.verifyHeader(value, false, remember, TIMEOUTS, T0 + 1);
            payload = CookieChunker.join("session", value, verified.header().dataSize(), CHUNKS::get);
            plain = CODEC.decrypt(verified, payload, KeyDerivation.HKDF);
        } catch (SessionCodecException refused) {
            if (value.equals(Genuine.COOKIE_VALUE) || value.equals(Genuine.CHUNKS.get(0).value())) {
                throw new AssertionError("GENUINE REFUSED: the codec refused a real cookie: " + refused.getMessage());
            }
            return;
        }
        String header = value.substring(0, 110);
        boolean single = header.equals(Genuine.COOKIE_VALUE.substring(0, 110))
                && payload.equals(Genuine.COOKIE_VALUE.substring(110));
        boolean chunked = header.equals(Genuine.CHUNKS.get(0).value().substring(0, 110))
                && payload.equals(Genuine.CHUNKED_PAYLOAD);
        if (!(single || chunked) || plain.length == 0) {
            throw new AssertionError("FORGERY: the codec opened " + value);
        }
    }
}
