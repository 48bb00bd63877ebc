package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** The variables of one RPC, each fetched from APISIX at most once. */
final class CallVariables {

    private final GatewayLink link;
    private final Map<String, String> values = new HashMap<>();

    CallVariables(GatewayLink link) {
        this.link = link;
    }

    String get(String name) throws GatewayException {
        String cached = values.get(name);
        if (cached == null) {
            byte[] value = link.variable(name);
            cached = value == null ? "" : new String(value, StandardCharsets.UTF_8);
            values.put(name, cached);
        }
        return cached;
    }
}
