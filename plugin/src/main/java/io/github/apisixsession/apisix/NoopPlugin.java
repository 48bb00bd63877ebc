package io.github.apisixsession.apisix;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Accepts any config and lets every request through unchanged; the baseline for benchmarks.
 *
 * <p>With {@code {"vars": ["consumer_name", …]}} it also fetches those APISIX variables on every
 * request (one ExtraInfo round trip each) and ignores them, so a benchmark can tell the cost of
 * the protocol's round trips from the cost of a filter's own work.
 */
public final class NoopPlugin implements ExtPlugin<List<String>> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "noop";
    }

    @Override
    public List<String> prepare(String value) {
        List<String> vars = new ArrayList<>();
        if (value != null && value.trim().startsWith("{")) {
            try {
                JsonNode node = JSON.readTree(value).get("vars");
                if (node != null && node.isArray()) {
                    node.forEach(v -> {
                        if (v.isTextual()) {
                            vars.add(v.asText());
                        }
                    });
                }
            } catch (IOException e) {
                // any config is accepted
            }
        }
        return List.copyOf(vars);
    }

    @Override
    public RequestDecision onRequest(List<String> vars, RequestView request) throws GatewayException {
        for (String name : vars) {
            request.variable(name);
        }
        return RequestDecision.PROCEED;
    }
}
