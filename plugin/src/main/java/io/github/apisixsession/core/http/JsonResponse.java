package io.github.apisixsession.core.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The engine's own answers to a client: APISIX's style, {@code {"message": "…"}}. */
public final class JsonResponse {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonResponse() {
    }

    public static RequestDecision.Respond of(int status, String message) {
        return of(status, message, List.of());
    }

    /** With {@code headers} (e.g. cookies being expired) before the Content-Type. */
    public static RequestDecision.Respond of(int status, String message, List<HttpHeader> headers) {
        List<HttpHeader> all = new ArrayList<>(headers);
        all.add(new HttpHeader("Content-Type", "application/json"));
        byte[] body = JSON.createObjectNode().put("message", message).toString().getBytes(StandardCharsets.UTF_8);
        return new RequestDecision.Respond(status, List.copyOf(all), body);
    }
}
