package io.github.apisixsession.core.codec;

/**
 * How the AES key and IV of a cookie are derived from the ikm and the session id. The MAC key
 * always comes from HKDF. Remember cookies use PBKDF2 with the iteration count of
 * {@code remember_safety} (lua-resty-session: Low 1,000, Medium 10,000, High 100,000,
 * Very High 1,000,000; None uses HKDF).
 */
public record KeyDerivation(int pbkdf2Iterations) {

    /** HKDF-SHA256, used by every session cookie. */
    public static final KeyDerivation HKDF = new KeyDerivation(0);

    public KeyDerivation {
        if (pbkdf2Iterations < 0) {
            throw new IllegalArgumentException("iterations must be >= 0");
        }
    }

    public static KeyDerivation pbkdf2(int iterations) {
        return new KeyDerivation(iterations);
    }

    public boolean isHkdf() {
        return pbkdf2Iterations == 0;
    }
}
