package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.codec.ClientAddress;
import java.util.ArrayList;
import java.util.List;

/** An HTTPReqCall as the engine sees it; variables and the body are fetched lazily, once. */
final class A6RequestView implements RequestView {

    private final A6Codec.ReqCallRequest call;
    private final GatewayLink link;
    /** Made on the first variable asked for: most calls ask none. */
    private CallVariables variables;
    private byte[] body;

    A6RequestView(A6Codec.ReqCallRequest call, GatewayLink link) {
        this.call = call;
        this.link = link;
    }

    @Override
    public String method() {
        return call.method();
    }

    @Override
    public String path() {
        return call.path();
    }

    @Override
    public List<String> queryArgs(String name) {
        List<String> values = new ArrayList<>(1);
        for (HttpHeader arg : call.args()) {
            if (arg.is(name)) {
                values.add(arg.value() == null ? "" : arg.value());
            }
        }
        return values;
    }

    @Override
    public List<String> headers(String name) {
        return valuesOf(call.headers(), name);
    }

    @Override
    public List<HttpHeader> allHeaders() {
        return call.headers();
    }

    /** {@code src_ip} is {@code $binary_remote_addr}; its text is nginx's {@code $remote_addr}. */
    @Override
    public String remoteAddress() {
        return ClientAddress.of(call.srcIp());
    }

    @Override
    public String variable(String name) throws GatewayException {
        if (variables == null) {
            variables = new CallVariables(link);
        }
        return variables.get(name);
    }

    @Override
    public byte[] body() throws GatewayException {
        if (body == null) {
            byte[] value = link.requestBody();
            body = value == null ? new byte[0] : value;
        }
        return body.clone();
    }

    static List<String> valuesOf(List<HttpHeader> headers, String name) {
        List<String> values = new ArrayList<>(1);
        for (HttpHeader h : headers) {
            if (h.is(name)) {
                values.add(h.value() == null ? "" : h.value());
            }
        }
        return values;
    }
}
