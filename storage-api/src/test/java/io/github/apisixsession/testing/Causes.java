package io.github.apisixsession.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;

/**
 * What ended a failed call, read from its cause chain. Outage tests assert this instead of how
 * long the call took: a failure whose cause is the configured timeout waited that timeout and no
 * more, and one whose cause is a refused or reset connection did not wait at all. A hang is left
 * to the test's generous {@code @Timeout}.
 */
public final class Causes {

    private Causes() {
    }

    /** {@code e} and its causes, outermost first. */
    public static List<Throwable> chain(Throwable e) {
        List<Throwable> out = new ArrayList<>();
        for (Throwable t = e; t != null && !out.contains(t); t = t.getCause()) {
            out.add(t);
        }
        return out;
    }

    /** Whether a cause is one of {@code types}. */
    public static boolean any(Throwable e, List<Class<? extends Throwable>> types) {
        return chain(e).stream().anyMatch(t -> types.stream().anyMatch(c -> c.isInstance(t)));
    }

    /** Asserts that a cause of {@code e} is one of {@code types}; returns {@code e}. */
    public static <T extends Throwable> T assertCausedBy(T e, List<Class<? extends Throwable>> types) {
        if (!any(e, types)) {
            fail("expected a failure caused by one of " + types.stream().map(Class::getSimpleName).toList()
                    + ", got: " + describe(e), e);
        }
        return e;
    }

    /** Asserts that no cause of {@code e} is one of {@code types}; returns {@code e}. */
    public static <T extends Throwable> T assertNotCausedBy(T e, List<Class<? extends Throwable>> types) {
        if (any(e, types)) {
            fail("expected a failure without " + types.stream().map(Class::getSimpleName).toList()
                    + ", got: " + describe(e), e);
        }
        return e;
    }

    private static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t : chain(e)) {
            b.append(b.length() == 0 ? "" : " <- ").append(t);
        }
        return b.toString();
    }
}
