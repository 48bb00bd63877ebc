package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.ResponseView;
import java.util.List;

/** An HTTPRespCall (the upstream's status and headers) as the engine sees it. */
final class A6ResponseView implements ResponseView {

    private final A6Codec.RespCallRequest call;
    private final CallVariables variables;

    A6ResponseView(A6Codec.RespCallRequest call, GatewayLink link) {
        this.call = call;
        this.variables = new CallVariables(link);
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
        return variables.get(name);
    }
}
