package io.github.apisixsession.core.config;

import io.github.apisixsession.core.config.SessionConfig.SharedState;
import io.github.apisixsession.storage.StorageConfig;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static io.github.apisixsession.core.config.ConfigFields.printable;

/**
 * {@code shared_state}: where a route's revocations, "log out everywhere" markers and
 * {@code failure_limit} counters are shared by every runner. Absent: the route's own server-side
 * storage, if it offers shared state, failing open (see {@link SharedState#IMPLICIT});
 * {@code true}: the same, failing closed; {@code false}: this runner only; an object names a store
 * ({@code {"storage": "redis", "redis": {…}}}, the storage's own options) and/or
 * {@code on_failure} ({@code closed}, the default, or {@code open}).
 */
final class SharedStateOptions {

    private static final String FIELD = "shared_state";

    private SharedStateOptions() {
    }

    static SharedState parse(StorageConfig c, String routeStorage, Set<String> storageNames) throws ConfigException {
        Object raw = c.raw(FIELD);
        boolean cookie = SessionConfig.COOKIE_STORAGE.equals(routeStorage);
        if (raw == null) {
            return cookie ? SharedState.OFF : SharedState.IMPLICIT;
        }
        if (raw instanceof Boolean b) {
            if (!b) {
                return SharedState.OFF;
            }
            if (cookie) {
                throw new ConfigException(FIELD, "cookie storage has no store to share: name one, e.g. "
                        + "{\"storage\": \"redis\", \"redis\": {…}}");
            }
            return SharedState.ROUTE_STORAGE;
        }
        if (!(raw instanceof Map<?, ?>)) {
            throw new ConfigException(FIELD, "must be an object ({\"storage\": \"redis\", \"redis\": {…}, "
                    + "\"on_failure\": \"closed\"}) or false");
        }
        StorageConfig s = c.getObject(FIELD);
        String storage = s.getString("storage", null);
        for (String key : s.keys()) {
            if (!key.equals("storage") && !key.equals("on_failure") && !key.equals(storage)) {
                throw new ConfigException(s.field(key), "unknown field; allowed: [on_failure, storage"
                        + (storage == null ? "" : ", " + storage) + "]");
            }
        }
        String onFailure = s.getString("on_failure", "closed");
        if (!onFailure.equals("closed") && !onFailure.equals("open")) {
            throw new ConfigException(s.field("on_failure"), "must be \"closed\" (storage_error_status while the "
                    + "store cannot be trusted) or \"open\" (keep checking the last copy)");
        }
        boolean failOpen = onFailure.equals("open");
        if (storage == null) {
            if (cookie) {
                throw new ConfigException(s.field("storage"), "is required with cookie storage (e.g. \"redis\")");
            }
            return new SharedState(SharedState.Mode.ROUTE_STORAGE, null, null, failOpen);
        }
        if (storage.equals(SessionConfig.COOKIE_STORAGE) || !storageNames.contains(storage)) {
            Set<String> names = new TreeSet<>(storageNames);
            throw new ConfigException(s.field("storage"), "unknown store \"" + printable(storage) + "\"; available: "
                    + names);
        }
        return new SharedState(SharedState.Mode.STORE, storage, s.getObject(storage), failOpen);
    }
}
