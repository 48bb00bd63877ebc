package io.github.apisixsession.hostile;

import java.util.Random;

/** Random strings for hostile inputs. */
final class Strings {
    private Strings() {
    }

    static String of(Random r, String alphabet, int length) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    /** Any UTF-16 code units, lone surrogates and controls included. */
    static String any(Random r, int length) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append((char) (r.nextInt(4) == 0 ? r.nextInt(0x10000) : r.nextInt(0x80)));
        }
        return sb.toString();
    }
}
