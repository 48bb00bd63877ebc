package io.github.apisixsession.simulator;

/** A frame or message that does not follow the ext-plugin protocol. */
public class ProtocolException extends RuntimeException {
    public ProtocolException(String message) {
        super(message);
    }

    public ProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
