package io.github.apisixsession.core;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A request as a host would present it; variables count how often they were asked for. */
final class TestRequest implements RequestView {

    private final String method;
    private final String path;
    private final Map<String, List<String>> args = new HashMap<>();
    private final List<HttpHeader> headers = new ArrayList<>();
    private final Map<String, String> variables = new HashMap<>();
    private final Map<String, Integer> variableReads = new HashMap<>();
    private byte[] body = new byte[0];
    int bodyReads;

    TestRequest(String method, String pathAndQuery) {
        this.method = method;
        int q = pathAndQuery.indexOf('?');
        this.path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        if (q >= 0) {
            for (String pair : pathAndQuery.substring(q + 1).split("&")) {
                int eq = pair.indexOf('=');
                String k = eq < 0 ? pair : pair.substring(0, eq);
                args.computeIfAbsent(k, x -> new ArrayList<>()).add(eq < 0 ? "" : pair.substring(eq + 1));
            }
        }
    }

    static TestRequest get(String path) {
        return new TestRequest("GET", path);
    }

    TestRequest header(String name, String value) {
        headers.add(new HttpHeader(name, value));
        return this;
    }

    TestRequest cookie(String cookieHeader) {
        return header("Cookie", cookieHeader);
    }

    TestRequest consumer(String name) {
        return variable("consumer_name", name);
    }

    TestRequest variable(String name, String value) {
        variables.put(name, value);
        return this;
    }

    TestRequest body(String contentType, String text) {
        header("Content-Type", contentType);
        this.body = text.getBytes(StandardCharsets.UTF_8);
        return this;
    }

    int variableReads(String name) {
        return variableReads.getOrDefault(name, 0);
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public List<String> queryArgs(String name) {
        return args.getOrDefault(name, List.of());
    }

    @Override
    public List<String> headers(String name) {
        List<String> out = new ArrayList<>();
        for (HttpHeader h : headers) {
            if (h.is(name)) {
                out.add(h.value());
            }
        }
        return out;
    }

    @Override
    public List<HttpHeader> allHeaders() {
        return List.copyOf(headers);
    }

    @Override
    public String remoteAddress() {
        return "127.0.0.1";
    }

    @Override
    public String variable(String name) {
        variableReads.merge(name, 1, Integer::sum);
        return variables.getOrDefault(name, "");
    }

    @Override
    public byte[] body() {
        bodyReads++;
        return body.clone();
    }
}
