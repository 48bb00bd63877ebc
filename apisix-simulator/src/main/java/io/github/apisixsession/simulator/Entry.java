package io.github.apisixsession.simulator;

import java.util.Objects;

/**
 * A protocol {@code TextEntry}: a name and an optional value. In a {@code Rewrite} a missing value
 * deletes the header or argument; in {@code HTTPReqCall.args} a missing value is a bare query
 * argument ({@code ?session_logout}).
 */
public record Entry(String name, String value) {
    public Entry {
        Objects.requireNonNull(name, "name");
    }

    public static Entry of(String name, String value) {
        return new Entry(name, value);
    }

    public boolean hasValue() {
        return value != null;
    }

    @Override
    public String toString() {
        return value == null ? name : name + ": " + value;
    }
}
