package io.github.apisixsession.core;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.config.SessionConfig.SharedState;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.core.state.ProcessState;
import io.github.apisixsession.core.state.RevocationState;
import io.github.apisixsession.core.state.RouteRevocations;
import io.github.apisixsession.core.state.SharedStateLink;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;

/**
 * Decides, when a route is prepared, where its revocations, markers and failure counters live
 * ({@code shared_state}): the route's own storage when it offers shared state, a named store
 * (leased like any storage, so its pool and outage handling are those of every route with the
 * same config), or this runner only. A store's copy is loaded before the route serves, waiting at
 * most what is left of {@link SessionEngine#STORAGE_START_WAIT}.
 */
final class RouteSharedState {

    private static final Logger LOG = LoggerFactory.getLogger(RouteSharedState.class);

    private final SessionStorages storages;
    private final ProcessState state;

    RouteSharedState(SessionStorages storages, ProcessState state) {
        this.storages = storages;
        this.state = state;
    }

    /**
     * @param routeLease   the route's storage lease, or null for cookie storage
     * @param routeStarted the route's storage if it started in time, else null
     */
    RouteRevocations prepare(SessionConfig config, SessionStorages.Lease routeLease, SessionStorage routeStarted,
                             long deadlineNanos) throws ConfigException {
        SharedState shared = config.sharedState();
        RouteRevocations route = new RouteRevocations(state.local(), shared.failOpen());
        if (shared.mode() == SharedState.Mode.OFF || (shared.mode() == SharedState.Mode.ROUTE_STORAGE
                && routeLease == null)) {
            route.use(state.local());
            return route;
        }
        if (shared.mode() == SharedState.Mode.ROUTE_STORAGE) {
            if (routeStarted == null) {
                // known once the storage has started: the first request after that decides
                route.useLater(() -> {
                    try {
                        SessionStorage started = routeLease.awaitStart(Duration.ZERO);
                        return started == null ? null
                                : started.sharedState().isEmpty() ? state.local() : link(config.storage(), routeLease, route);
                    } catch (StorageException e) {
                        return null;
                    }
                });
                return route;
            }
            route.use(routeStarted.sharedState().isEmpty() ? state.local()
                    : awaitLoaded(link(config.storage(), routeLease, route), deadlineNanos));
            return route;
        }
        SessionStorages.Lease lease;
        try {
            lease = storages.lease(shared.storage(), shared.storageConfig());
        } catch (StorageConfigException e) {
            throw new ConfigException(e.field(), e.getMessage().substring(e.field().length() + 2));
        } catch (StorageException e) {
            throw new ConfigException("shared_state.storage", "store unavailable: " + e.getMessage());
        }
        SessionStorage started;
        try {
            started = lease.awaitStart(remaining(deadlineNanos));
        } catch (StorageException e) {
            lease.release();
            throw new ConfigException("shared_state.storage", "store unavailable: " + e.getMessage());
        }
        if (started != null && started.sharedState().isEmpty()) {
            lease.release();
            throw new ConfigException("shared_state.storage", "the " + shared.storage()
                    + " storage offers no shared state");
        }
        lease.releaseWhenUnreachable(route);
        route.use(awaitLoaded(link(shared.storage(), lease, route), deadlineNanos));
        return route;
    }

    /**
     * The store's link; it finds the store through the lease, which also starts the storage again
     * after a failed start (a cookie route's store sees no other call that would).
     */
    private SharedStateLink link(String name, SessionStorages.Lease lease, RouteRevocations owner) {
        return state.sharedStores().acquire(lease.storage(), name, () -> {
            try {
                SessionStorage started = lease.awaitStart(Duration.ZERO);
                return started == null ? Optional.empty() : started.sharedState();
            } catch (StorageException e) {
                return Optional.empty();
            }
        }, owner);
    }

    private RevocationState awaitLoaded(SharedStateLink link, long deadlineNanos) {
        if (!state.sharedStores().awaitLoaded(link, remaining(deadlineNanos))) {
            LOG.warn("shared state {}: not loaded within {} ms; the route serves once it is (on_failure decides "
                    + "meanwhile)", link, SessionEngine.STORAGE_START_WAIT.toMillis());
        }
        return link;
    }

    private static Duration remaining(long deadlineNanos) {
        return Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    }
}
