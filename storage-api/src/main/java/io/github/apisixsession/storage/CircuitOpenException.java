package io.github.apisixsession.storage;

/**
 * A call failed at once, without reaching the store, because its {@link CircuitBreaker} is open:
 * the store failed repeatedly just before. The message names the last cause.
 */
public class CircuitOpenException extends StorageException {

    private static final long serialVersionUID = 1L;

    public CircuitOpenException(String message) {
        super(message);
    }
}
