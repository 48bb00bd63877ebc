package io.github.apisixsession.runner;

import io.github.apisixsession.core.HttpHeader;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Writes a header list through the runner's {@code setHeader(name, value)}, which keeps one value
 * per name (a {@code HashMap}). APISIX lower-cases the names of a reply and sets the first field of
 * a name, then adds the others, so the second {@code Set-Cookie} is sent as {@code set-cookie}, the
 * third as {@code SET-COOKIE}, and so on: distinct keys for the runner, one name for APISIX and the
 * client. The runner's map does not keep the order between different names.
 */
final class HeaderFields {

    /** Most spellings tried per name; {@code set-cookie} alone has 512. */
    private static final int MAX_LETTERS = 12;

    private HeaderFields() {
    }

    /** Passes every header to {@code setter} under a spelling not used before in this reply. */
    static int write(List<HttpHeader> headers, BiConsumer<String, String> setter) {
        Set<String> used = new HashSet<>();
        int dropped = 0;
        for (HttpHeader h : headers) {
            String key = spelling(h.name(), used);
            if (key == null) {
                dropped++;
                continue;
            }
            used.add(key);
            setter.accept(key, h.value() == null ? "" : h.value());
        }
        return dropped;
    }

    /** The name as given, lower-cased, upper-cased, then mixed-case spellings; null if all are used. */
    static String spelling(String name, Set<String> used) {
        if (!used.contains(name)) {
            return name;
        }
        String lower = name.toLowerCase(Locale.ROOT);
        int[] letters = new int[Math.min(MAX_LETTERS, countLetters(lower))];
        for (int i = 0, n = 0; i < lower.length() && n < letters.length; i++) {
            if (Character.isLetter(lower.charAt(i))) {
                letters[n++] = i;
            }
        }
        int combinations = 1 << letters.length;
        // mask 0 = all lower, mask all-ones = all upper (the letters covered), the rest mixed
        for (int step = 0; step < combinations; step++) {
            int mask = step == 1 ? combinations - 1 : step == combinations - 1 ? 1 : step;
            char[] chars = lower.toCharArray();
            for (int b = 0; b < letters.length; b++) {
                if ((mask & (1 << b)) != 0) {
                    chars[letters[b]] = Character.toUpperCase(chars[letters[b]]);
                }
            }
            String candidate = new String(chars);
            if (!used.contains(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static int countLetters(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (Character.isLetter(s.charAt(i))) {
                n++;
            }
        }
        return n;
    }
}
