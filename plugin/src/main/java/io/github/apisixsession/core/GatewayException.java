package io.github.apisixsession.core;

/** The gateway could not answer a question about the request (connection closed mid-call). */
public class GatewayException extends Exception {

    private static final long serialVersionUID = 1L;

    public GatewayException(String message, Throwable cause) {
        super(message, cause);
    }
}
