package io.github.apisixsession.benchmarks;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A request as the engine sees it, with the headers a browser sends and APISIX variables. */
final class BenchRequest implements RequestView {

    private final String method;
    private final List<HttpHeader> headers;
    private final List<HttpHeader> args;
    private final Map<String, String> variables;

    BenchRequest(String method, String cookie, List<HttpHeader> args, Map<String, String> variables) {
        this.method = method;
        List<HttpHeader> h = new ArrayList<>(List.of(
                new HttpHeader("host", "app.example.com"),
                new HttpHeader("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                new HttpHeader("accept", "application/json, text/plain, */*"),
                new HttpHeader("accept-language", "en-US,en;q=0.5"),
                new HttpHeader("accept-encoding", "gzip, deflate, br"),
                new HttpHeader("x-request-id", "f3b2a7c0-5b1e-4c7e-9a51-0d6a3c2e9b11")));
        if (cookie != null) {
            h.add(new HttpHeader("cookie", "_ga=GA1.2.1234567890.1700000000; " + cookie));
        }
        this.headers = List.copyOf(h);
        this.args = List.copyOf(args);
        this.variables = Map.copyOf(variables);
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public String path() {
        return "/app/orders";
    }

    @Override
    public List<String> queryArgs(String name) {
        List<String> out = new ArrayList<>(1);
        for (HttpHeader a : args) {
            if (a.name().equals(name)) {
                out.add(a.value() == null ? "" : a.value());
            }
        }
        return out;
    }

    @Override
    public List<String> headers(String name) {
        List<String> out = new ArrayList<>(1);
        for (HttpHeader h : headers) {
            if (h.is(name)) {
                out.add(h.value());
            }
        }
        return out;
    }

    @Override
    public List<HttpHeader> allHeaders() {
        return headers;
    }

    @Override
    public String remoteAddress() {
        return "10.0.0.7";
    }

    @Override
    public String variable(String name) {
        return variables.getOrDefault(name, "");
    }

    @Override
    public byte[] body() {
        return new byte[0];
    }
}
