package io.github.apisixsession.runner;

import java.nio.charset.StandardCharsets;

/**
 * Values of APISIX variables as runner 0.4.0 hands them over. Its {@code ExtraInfoResponse.getResult()}
 * turns every byte into one {@code char} (sign-extended), which garbles anything non-ASCII; the
 * bytes are recovered from the low 8 bits of each char and decoded as UTF-8.
 */
final class RunnerVars {

    private RunnerVars() {
    }

    /** The variable's real text; empty for null (APISIX had no value). */
    static String decode(String raw) {
        if (raw == null || raw.isEmpty()) {
            return "";
        }
        boolean ascii = true;
        for (int i = 0; i < raw.length() && ascii; i++) {
            ascii = raw.charAt(i) < 0x80;
        }
        if (ascii) {
            return raw;
        }
        return new String(bytes(raw), StandardCharsets.UTF_8);
    }

    /** The bytes APISIX sent, e.g. a request body. */
    static byte[] bytes(String raw) {
        if (raw == null) {
            return new byte[0];
        }
        byte[] out = new byte[raw.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) raw.charAt(i);
        }
        return out;
    }
}
