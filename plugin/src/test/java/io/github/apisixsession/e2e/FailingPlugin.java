package io.github.apisixsession.e2e;

import io.github.apisixsession.apisix.ExtPlugin;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;

/**
 * A plugin that fails as its conf says: {@code oom} throws OutOfMemoryError, {@code deep} recurses
 * until StackOverflowError, anything else proceeds. Loaded into a runner process from a jar in
 * {@code SESSION_RUNNER_LIB_DIR} ({@link FatalErrorIT}), never part of the runner jar.
 */
public final class FailingPlugin implements ExtPlugin<String> {

    @Override
    public String name() {
        return "failing";
    }

    @Override
    public String prepare(String value) {
        return value;
    }

    @Override
    public RequestDecision onRequest(String config, RequestView request) {
        if (config.equals("oom")) {
            throw new OutOfMemoryError("FailingPlugin: Java heap space");
        }
        if (config.equals("deep")) {
            return deeper(0);
        }
        return RequestDecision.PROCEED;
    }

    private static RequestDecision deeper(int depth) {
        return depth < 0 ? RequestDecision.PROCEED : deeper(depth + 1);
    }
}
