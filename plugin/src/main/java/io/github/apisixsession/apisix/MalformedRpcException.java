package io.github.apisixsession.apisix;

/** A frame or flatbuffer the host cannot decode; the connection is answered BAD_REQUEST and closed. */
final class MalformedRpcException extends Exception {

    private static final long serialVersionUID = 1L;

    MalformedRpcException(String message) {
        super(message);
    }

    MalformedRpcException(String message, Throwable cause) {
        super(message, cause);
    }
}
