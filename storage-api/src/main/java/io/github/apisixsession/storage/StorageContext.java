package io.github.apisixsession.storage;

import java.time.Clock;
import java.util.Objects;
import java.util.function.Function;

/**
 * What the host gives a storage besides its config: the clock (so expiry is testable) and a view
 * of the environment (for {@code $env://NAME} secrets).
 */
public record StorageContext(Clock clock, Function<String, String> environment) {

    public StorageContext {
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(environment, "environment");
    }

    public static StorageContext system() {
        return new StorageContext(Clock.systemUTC(), System::getenv);
    }
}
