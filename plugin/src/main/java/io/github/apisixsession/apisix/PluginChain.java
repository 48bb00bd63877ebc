package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.core.ResponseView;
import java.util.List;

/** The plugins of one conf token with their parsed configs, in the conf's order. */
record PluginChain(List<Link<?>> links) {

    PluginChain {
        links = List.copyOf(links);
    }

    /** One plugin with its parsed config. */
    record Link<C>(ExtPlugin<C> plugin, C config) {

        RequestDecision onRequest(RequestView request) throws GatewayException {
            return plugin.onRequest(config, request);
        }

        ResponseDecision onResponse(ResponseView response) throws GatewayException {
            return plugin.onResponse(config, response);
        }

        static <C> Link<C> prepare(ExtPlugin<C> plugin, String value) throws io.github.apisixsession.core.config.ConfigException {
            return new Link<>(plugin, plugin.prepare(value));
        }
    }
}
