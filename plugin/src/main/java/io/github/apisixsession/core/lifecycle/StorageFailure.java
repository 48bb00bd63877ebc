package io.github.apisixsession.core.lifecycle;

import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.JsonResponse;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The answer when the route's storage fails: {@code storage_error_status} (503) with a reason. */
final class StorageFailure {

    private static final Logger LOG = LoggerFactory.getLogger(StorageFailure.class);

    private StorageFailure() {
    }

    /** The storage's failures are logged where the storage is called (RouteStorage), a few lines per outage. */
    static RequestDecision.Respond answer(SessionConfig config, String operation, StorageException e) {
        LOG.debug("session storage {} failed to {}: {}", config.storage(), operation, e.getMessage());
        return JsonResponse.of(config.storageErrorStatus(), "session storage unavailable");
    }
}
