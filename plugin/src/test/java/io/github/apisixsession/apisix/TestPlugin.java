package io.github.apisixsession.apisix;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.core.ResponseView;
import java.util.concurrent.atomic.AtomicInteger;

/** A plugin assembled from lambdas; its config is the raw value. */
final class TestPlugin implements ExtPlugin<String> {

    interface OnRequest {
        RequestDecision apply(String config, RequestView request) throws Exception;
    }

    interface OnResponse {
        ResponseDecision apply(String config, ResponseView response) throws Exception;
    }

    interface Prepare {
        String apply(String value) throws ConfigException;
    }

    private final String name;
    private final Prepare prepare;
    private final OnRequest onRequest;
    private final OnResponse onResponse;
    final AtomicInteger prepares = new AtomicInteger();
    final AtomicInteger closes = new AtomicInteger();

    TestPlugin(String name, Prepare prepare, OnRequest onRequest, OnResponse onResponse) {
        this.name = name;
        this.prepare = prepare;
        this.onRequest = onRequest;
        this.onResponse = onResponse;
    }

    static TestPlugin onRequest(String name, OnRequest onRequest) {
        return new TestPlugin(name, v -> v, onRequest, (c, r) -> null);
    }

    static TestPlugin onResponse(String name, OnResponse onResponse) {
        return new TestPlugin(name, v -> v, (c, r) -> RequestDecision.PROCEED, onResponse);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String prepare(String value) throws ConfigException {
        prepares.incrementAndGet();
        return prepare.apply(value);
    }

    @Override
    public RequestDecision onRequest(String config, RequestView request) throws GatewayException {
        try {
            return onRequest.apply(config, request);
        } catch (GatewayException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public ResponseDecision onResponse(String config, ResponseView response) throws GatewayException {
        try {
            return onResponse.apply(config, response);
        } catch (GatewayException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closes.incrementAndGet();
    }
}
