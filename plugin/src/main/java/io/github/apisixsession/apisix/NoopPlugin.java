package io.github.apisixsession.apisix;

import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;

/** Accepts any config and lets every request through unchanged; the baseline for benchmarks. */
public final class NoopPlugin implements ExtPlugin<String> {

    @Override
    public String name() {
        return "noop";
    }

    @Override
    public String prepare(String value) {
        return value;
    }

    @Override
    public RequestDecision onRequest(String config, RequestView request) {
        return RequestDecision.PROCEED;
    }
}
