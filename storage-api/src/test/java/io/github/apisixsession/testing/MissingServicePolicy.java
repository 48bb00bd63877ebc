package io.github.apisixsession.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.util.Map;

/**
 * What a missing service does to a test: under {@code CI=true} it fails it (CI must test
 * everything), elsewhere it aborts it, which JUnit reports as skipped with the reason.
 */
final class MissingServicePolicy {

    private final boolean ci;

    private MissingServicePolicy(boolean ci) {
        this.ci = ci;
    }

    static MissingServicePolicy of(Map<String, String> env) {
        return new MissingServicePolicy("true".equalsIgnoreCase(env.getOrDefault("CI", "").trim()));
    }

    /** Whether a missing service fails the test ({@code CI=true}) rather than skipping it. */
    boolean failsTests() {
        return ci;
    }

    /** Never returns: throws the failure or the abort. */
    void missing(String why) {
        if (ci) {
            fail(why + " (CI=true: a missing service fails the build instead of skipping the test)");
        }
        abort(why);
    }
}
