package io.github.apisixsession.core.state;

import java.util.function.Supplier;

/**
 * A route's {@link RevocationState}: decided when the route is prepared, or, when its storage was
 * still starting then, by the first request after it has (until then this runner's own lists).
 */
public final class RouteRevocations {

    private final RevocationState fallback;
    private final boolean failOpen;
    private volatile RevocationState resolved;
    private volatile Supplier<RevocationState> resolver;

    /**
     * @param fallback what the route uses until it is resolved (this runner's lists)
     * @param failOpen {@code on_failure: "open"}
     */
    public RouteRevocations(RevocationState fallback, boolean failOpen) {
        this.fallback = fallback;
        this.failOpen = failOpen;
    }

    /** Resolved now. */
    public void use(RevocationState state) {
        resolved = state;
        resolver = null;
    }

    /** Resolved by {@code later} (null: not yet) on the requests' path, at most once successfully. */
    public void useLater(Supplier<RevocationState> later) {
        resolver = later;
    }

    public RevocationState current() {
        RevocationState r = resolved;
        if (r != null) {
            return r;
        }
        Supplier<RevocationState> later = resolver;
        if (later != null) {
            synchronized (this) {
                if (resolved == null && resolver != null) {
                    r = resolver.get();
                    if (r != null) {
                        use(r);
                    }
                }
                return resolved != null ? resolved : fallback;
            }
        }
        return fallback;
    }

    /** Whether checks go on with the last copy while the store cannot be trusted. */
    public boolean failOpen() {
        return failOpen;
    }
}
