package io.github.apisixsession.storage;

/**
 * The backend could not answer (down, slow, refused). The engine turns it into the route's
 * configured response (503 by default); it never crashes the runner. Messages must not contain
 * secrets or session keys.
 */
public class StorageException extends Exception {

    private static final long serialVersionUID = 1L;

    public StorageException(String message) {
        super(message);
    }

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
