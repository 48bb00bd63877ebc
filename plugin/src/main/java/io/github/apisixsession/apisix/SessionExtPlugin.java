package io.github.apisixsession.apisix;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.core.ResponseView;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;

/** The {@code session} filter: the engine behind our host's {@link ExtPlugin} seam. */
public final class SessionExtPlugin implements ExtPlugin<SessionRoute> {

    private final SessionEngine engine;
    private final SessionConfigParser parser;

    /**
     * As discovered by {@link java.util.ServiceLoader}: the runner's clock (the system's unless the
     * test-only switch of {@link RunnerClock} is on), environment and storages.
     */
    public SessionExtPlugin() {
        this(RunnerClock.get());
    }

    private SessionExtPlugin(Clock clock) {
        this(clock, SessionStorages.discover(new StorageContext(clock, System::getenv), idleClose()),
                PrometheusMetrics.shared());
    }

    /** As the host validated it at start (a bad value outside the runner falls back to the default). */
    private static java.time.Duration idleClose() {
        try {
            return HostSettings.storageIdleClose(System.getenv());
        } catch (IllegalArgumentException e) {
            return SessionStorages.DEFAULT_IDLE_CLOSE;
        }
    }

    public SessionExtPlugin(Clock clock, SessionStorages storages, SessionMetrics metrics) {
        this.engine = new SessionEngine(clock, storages, metrics);
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        // one random secret per process, for routes that opt in with "random_secret": true
        String processSecret = Base64.getEncoder().encodeToString(random);
        this.parser = new SessionConfigParser(storages.context().environment(), storages.names(), processSecret);
    }

    @Override
    public String name() {
        return "session";
    }

    @Override
    public SessionRoute prepare(String value) throws ConfigException {
        return engine.prepare(parser.parse(value));
    }

    @Override
    public RequestDecision onRequest(SessionRoute route, RequestView request) throws GatewayException {
        return engine.onRequest(route, request);
    }

    @Override
    public ResponseDecision onResponse(SessionRoute route, ResponseView response) throws GatewayException {
        return engine.onResponse(route, response);
    }

    @Override
    public void close() {
        engine.close();
    }
}
