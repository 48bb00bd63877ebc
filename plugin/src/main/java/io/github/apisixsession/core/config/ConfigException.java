package io.github.apisixsession.core.config;

/** A route config that cannot be used; the message starts with the offending field's path. */
public class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String field;

    public ConfigException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
