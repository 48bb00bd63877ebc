package io.github.apisixsession.storage;

/** A storage config is invalid; the message names the offending field (e.g. {@code redis.port}). */
public class StorageConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String field;

    public StorageConfigException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** The full dotted path of the field, e.g. {@code memory.max_entries}. */
    public String field() {
        return field;
    }
}
