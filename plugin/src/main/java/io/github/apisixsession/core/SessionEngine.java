package io.github.apisixsession.core;

import io.github.apisixsession.core.admin.SessionAdmin;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.http.IdentityHeaders;
import io.github.apisixsession.core.http.TokenTransport;
import io.github.apisixsession.core.lifecycle.RequestPhase;
import io.github.apisixsession.core.lifecycle.ResponsePhase;
import io.github.apisixsession.core.persistence.SessionPersistence;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.core.state.ProcessState;
import io.github.apisixsession.core.state.RouteRevocations;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * The session lifecycle of Kong's session plugin on top of lua-resty-session 4, as a pure function
 * of (route, request, clock, storage) to a decision. It knows nothing of APISIX: hosts translate
 * their calls into {@link RequestView}s and {@link ResponseView}s and apply the decisions.
 *
 * <p>This facade prepares routes and dispatches: the request phase ({@link RequestPhase}) decides
 * everything a request needs in one call; the response phase ({@link ResponsePhase}) is for
 * {@code identity: "upstream"} login routes and {@code failure_limit}.
 */
public final class SessionEngine implements AutoCloseable {

    public static final String CONSUMER_USERNAME = IdentityHeaders.CONSUMER_USERNAME;
    public static final String CREDENTIAL_IDENTIFIER = IdentityHeaders.CREDENTIAL_IDENTIFIER;
    public static final String CONSUMER_GROUPS = IdentityHeaders.CONSUMER_GROUPS;
    public static final String CONSUMER_CUSTOM_ID = IdentityHeaders.CONSUMER_CUSTOM_ID;

    /** How long a PrepareConf waits for its storage to start before it goes on without. */
    public static final Duration STORAGE_START_WAIT = Duration.ofSeconds(1);

    private static final Logger LOG = LoggerFactory.getLogger(SessionEngine.class);

    private final Clock clock;
    private final SessionStorages storages;
    private final SessionMetrics metrics;
    private final ProcessState state;
    private final RouteSharedState sharedState;
    private final RequestPhase requestPhase;
    private final ResponsePhase responsePhase;

    public SessionEngine(Clock clock, SessionStorages storages) {
        this(clock, storages, SessionMetrics.NONE);
    }

    public SessionEngine(Clock clock, SessionStorages storages, SessionMetrics metrics) {
        this.clock = clock;
        this.storages = storages;
        this.metrics = metrics;
        this.state = ProcessState.create(clock, metrics);
        this.sharedState = new RouteSharedState(storages, state);
        this.requestPhase = new RequestPhase(clock, metrics, state);
        this.responsePhase = new ResponsePhase(clock, metrics, state);
    }

    public SessionStorages storages() {
        return storages;
    }

    /**
     * Builds the per-token state: codec keys, cookie attributes and the shared storage. A storage
     * that does not start within {@link #STORAGE_START_WAIT} is used once it has: APISIX holds one
     * lock over every PrepareConf of the gateway, so a slow database must not hold the others.
     */
    public SessionRoute prepare(SessionConfig config) throws ConfigException {
        long deadline = System.nanoTime() + STORAGE_START_WAIT.toNanos();
        SessionCodec codec = new SessionCodec(config.ikms(), config.compressionThreshold());
        if (config.cookieStorage()) {
            return new SessionRoute(config, new SessionPersistence(config, codec, null, metrics),
                    new TokenTransport(config), sharedState.prepare(config, null, null, deadline));
        }
        SessionStorages.Lease lease;
        SessionStorage started;
        try {
            lease = storages.lease(config.storage(), config.storageConfig());
        } catch (StorageConfigException e) {
            throw new ConfigException(e.field(), e.getMessage().substring(e.field().length() + 2));
        } catch (StorageException e) {
            throw new ConfigException(config.storage(), "storage unavailable: " + e.getMessage());
        }
        try {
            started = lease.awaitStart(STORAGE_START_WAIT);
        } catch (StorageException e) {
            lease.release();
            throw new ConfigException(config.storage(), "storage unavailable: " + e.getMessage());
        }
        if (config.storeMetadata() && started != null && !started.supportsMetadata()) {
            lease.release();
            throw new ConfigException("store_metadata", "the " + config.storage() + " storage keeps no metadata");
        }
        if (started == null) {
            LOG.warn("storage {} still starting after {} ms: its routes wait for it", config.storage(),
                    STORAGE_START_WAIT.toMillis());
        }
        RouteRevocations revocations;
        try {
            revocations = sharedState.prepare(config, lease, started, deadline);
        } catch (ConfigException e) {
            lease.release();
            throw e;
        }
        SessionRoute route = new SessionRoute(config, new SessionPersistence(config, codec, lease.storage(), metrics),
                new TokenTransport(config), revocations);
        // the storage stays open while a conf cache or a request in flight holds the route
        lease.releaseWhenUnreachable(route);
        return route;
    }

    /** The request phase: see {@link RequestPhase}. */
    public RequestDecision onRequest(SessionRoute route, RequestView request) throws GatewayException {
        return requestPhase.run(route, request);
    }

    /** The response phase (ext-plugin-post-resp): see {@link ResponsePhase}. */
    public ResponseDecision onResponse(SessionRoute route, ResponseView response) throws GatewayException {
        return responsePhase.run(route, response);
    }

    /** Every live session of a subject (the CLI's {@code sessions list}); needs store_metadata. */
    public Map<String, Instant> sessionsOf(SessionRoute route, String subject) throws StorageException {
        return SessionAdmin.sessionsOf(route, subject);
    }

    /** Revokes every session of a subject (the CLI's {@code sessions revoke}); returns how many. */
    public int revokeSessionsOf(SessionRoute route, String subject) throws StorageException {
        return SessionAdmin.revokeSessionsOf(route, subject, clock);
    }

    /** Revokes every session of the route's audience created before now (the CLI's {@code sessions revoke --audience}). */
    public void revokeAudience(SessionRoute route) throws StorageException {
        SessionAdmin.revokeAudience(route, clock);
    }

    @Override
    public void close() {
        state.close();
        storages.close();
    }
}
