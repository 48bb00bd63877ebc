package io.github.apisixsession.apisix;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.core.ResponseView;

/**
 * A filter our host can run, named in the route's ext-plugin {@code conf} list. The host parses
 * each entry's value once per conf token with {@link #prepare} and hands the result back on every
 * call, so no parsing happens per request.
 *
 * <p>Plugins are found with {@link java.util.ServiceLoader} (a public no-argument constructor and
 * a line in {@code META-INF/services/io.github.apisixsession.apisix.ExtPlugin}).
 *
 * @param <C> the parsed, immutable config
 */
public interface ExtPlugin<C> {

    /** The {@code name} of the conf entry, e.g. {@code session}. */
    String name();

    /** Parses and validates a conf entry's value. */
    C prepare(String value) throws ConfigException;

    /** An HTTPReqCall in ext-plugin-pre-req or ext-plugin-post-req. */
    RequestDecision onRequest(C config, RequestView request) throws GatewayException;

    /** An HTTPRespCall in ext-plugin-post-resp; {@code null} means "no opinion". */
    default ResponseDecision onResponse(C config, ResponseView response) throws GatewayException {
        return null;
    }

    /** Releases what the plugin holds (storage clients); called once at shutdown. */
    default void close() {
    }
}
