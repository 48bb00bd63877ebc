package io.github.apisixsession.hostile;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A request whose every part an attacker chose. */
final class HostileRequest implements RequestView {
    final String method;
    final String path;
    final Map<String, List<String>> args = new HashMap<>();
    final List<HttpHeader> headers = new ArrayList<>();
    final Map<String, String> variables = new HashMap<>();
    String remoteAddress = "127.0.0.1";
    byte[] body = new byte[0];

    HostileRequest(String method, String path) {
        this.method = method;
        this.path = path;
    }

    static HostileRequest get() {
        return new HostileRequest("GET", "/");
    }

    HostileRequest header(String name, String value) {
        headers.add(new HttpHeader(name, value));
        return this;
    }

    HostileRequest cookie(String value) {
        return header("Cookie", value);
    }

    HostileRequest arg(String name, String value) {
        args.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        return this;
    }

    HostileRequest body(byte[] bytes) {
        body = bytes;
        return this;
    }

    HostileRequest from(String address) {
        remoteAddress = address;
        return this;
    }

    HostileRequest consumer(String name) {
        variables.put("consumer_name", name);
        return this;
    }

    @Override
    public String toString() {
        return method + " " + path + " args=" + args + " headers=" + headers + " vars=" + variables;
    }

    public String method() {
        return method;
    }

    public String path() {
        return path;
    }

    public List<String> queryArgs(String name) {
        return args.getOrDefault(name, List.of());
    }

    public List<String> headers(String name) {
        List<String> out = new ArrayList<>();
        for (HttpHeader h : headers) {
            if (h.is(name)) {
                out.add(h.value());
            }
        }
        return out;
    }

    public List<HttpHeader> allHeaders() {
        return List.copyOf(headers);
    }

    public String remoteAddress() {
        return remoteAddress;
    }

    public String variable(String name) {
        return variables.getOrDefault(name, "");
    }

    public byte[] body() {
        return body;
    }
}
