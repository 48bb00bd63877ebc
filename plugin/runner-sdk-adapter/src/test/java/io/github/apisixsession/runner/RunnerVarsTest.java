package io.github.apisixsession.runner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RunnerVarsTest {

    /** What runner 0.4.0's ExtraInfoResponse.getResult() makes of the bytes: one sign-extended char each. */
    static String asRunner040(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append((char) b);
        }
        return sb.toString();
    }

    @Test
    void nonAsciiValuesAreRecovered() {
        String original = "jörg – 東京";
        String garbled = asRunner040(original.getBytes(StandardCharsets.UTF_8));
        assertEquals(false, garbled.equals(original));
        assertEquals(original, RunnerVars.decode(garbled));
        assertArrayEquals(original.getBytes(StandardCharsets.UTF_8), RunnerVars.bytes(garbled));
    }

    @Test
    void asciiAndMissingValues() {
        assertEquals("96736a6de83b", RunnerVars.decode("96736a6de83b"));
        assertEquals("", RunnerVars.decode(null));
        assertEquals("", RunnerVars.decode(""));
    }
}
