package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.ResponseView;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** An HTTPRespCall (the upstream's status and headers) as the engine sees it. */
final class A6ResponseView implements ResponseView {

    private final A6Codec.RespCallRequest call;
    private final GatewayLink link;
    private final Map<String, String> variables = new HashMap<>();

    A6ResponseView(A6Codec.RespCallRequest call, GatewayLink link) {
        this.call = call;
        this.link = link;
    }

    @Override
    public int status() {
        return call.status();
    }

    @Override
    public List<HttpHeader> headers() {
        return call.headers();
    }

    @Override
    public String variable(String name) throws GatewayException {
        String cached = variables.get(name);
        if (cached == null) {
            byte[] value = link.variable(name);
            cached = value == null ? "" : new String(value, StandardCharsets.UTF_8);
            variables.put(name, cached);
        }
        return cached;
    }
}
