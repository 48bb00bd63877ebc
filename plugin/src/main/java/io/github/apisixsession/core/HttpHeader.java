package io.github.apisixsession.core;

import java.util.Objects;

/**
 * One header line. In a request-header change a null {@code value} removes every header of that
 * name; names compare case-insensitively everywhere.
 */
public record HttpHeader(String name, String value) {

    public HttpHeader {
        Objects.requireNonNull(name, "name");
    }

    public static HttpHeader remove(String name) {
        return new HttpHeader(name, null);
    }

    public boolean isRemoval() {
        return value == null;
    }

    public boolean is(String otherName) {
        return name.equalsIgnoreCase(otherName);
    }
}
