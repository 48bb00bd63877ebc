package io.github.apisixsession.fuzz;

import java.nio.charset.StandardCharsets;

/**
 * How the text targets read their raw fuzz input (raw bytes, so that seed files are plain text).
 * An input that starts with byte 0xFF (never valid UTF-8) carries a control block first:
 * {@code 0xFF, flags, flip (2 bytes), flipAt (4 bytes)}, then the text. The text is decoded as
 * UTF-8 (malformed bytes become U+FFFD), the placeholders of {@link Genuine#expand} are replaced,
 * and when {@code flip} is not 0 the character at {@code flipAt} (modulo the length) is XORed with
 * it: that is how the fuzzer damages the authenticated bytes of a genuine cookie, and how it gets
 * lone surrogates and other characters UTF-8 cannot carry.
 */
record FuzzInput(int flags, String text) {

    static FuzzInput of(byte[] data) {
        int flags = 0;
        int flip = 0;
        int flipAt = 0;
        int start = 0;
        if (data.length >= 8 && data[0] == (byte) 0xFF) {
            flags = data[1] & 0xFF;
            flip = ((data[2] & 0xFF) << 8) | (data[3] & 0xFF);
            flipAt = ((data[4] & 0xFF) << 24) | ((data[5] & 0xFF) << 16) | ((data[6] & 0xFF) << 8) | (data[7] & 0xFF);
            start = 8;
        }
        String text = Genuine.expand(new String(data, start, data.length - start, StandardCharsets.UTF_8));
        if (flip != 0 && !text.isEmpty()) {
            int i = Math.floorMod(flipAt, text.length());
            text = text.substring(0, i) + (char) (text.charAt(i) ^ flip) + text.substring(i + 1);
        }
        return new FuzzInput(flags, text);
    }
}
