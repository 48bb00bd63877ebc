package io.github.apisixsession.core.codec;

/**
 * A cookie that cannot be opened. {@link #reason()} uses lua-resty-session's wording (e.g.
 * "invalid session message authentication code") so logs read the same as Kong's. Never carries
 * key material or the cookie itself.
 */
public final class SessionCodecException extends Exception {

    private static final long serialVersionUID = 1L;

    public SessionCodecException(String reason) {
        super(reason, null, false, false);
    }

    public String reason() {
        return getMessage();
    }
}
