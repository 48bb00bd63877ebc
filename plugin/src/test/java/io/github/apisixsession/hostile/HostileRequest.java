package io.github.apisixsession.hostile;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A request whose every part an attacker chose (the fuzz targets use it too). */
public final class HostileRequest implements RequestView {
    final String method;
    final String path;
    public final Map<String, List<String>> args = new HashMap<>();
    public final List<HttpHeader> headers = new ArrayList<>();
    public final Map<String, String> variables = new HashMap<>();
    private String remoteAddress = "127.0.0.1";
    private byte[] body = new byte[0];

    public HostileRequest(String method, String path) {
        this.method = method;
        this.path = path;
    }

    public static HostileRequest get() {
        return new HostileRequest("GET", "/");
    }

    public HostileRequest header(String name, String value) {
        headers.add(new HttpHeader(name, value));
        return this;
    }

    public HostileRequest cookie(String value) {
        return header("Cookie", value);
    }

    public HostileRequest arg(String name, String value) {
        args.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        return this;
    }

    public HostileRequest body(byte[] bytes) {
        body = bytes.clone();
        return this;
    }

    public HostileRequest from(String address) {
        remoteAddress = address;
        return this;
    }

    public HostileRequest consumer(String name) {
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
        return body.clone();
    }
}
