package io.github.apisixsession.simulator;

import io.github.apisixsession.simulator.A6.RespCallReply;
import io.github.apisixsession.simulator.A6.Rewrite;
import io.github.apisixsession.simulator.A6.Stop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The per-request state of the simulated gateway and the rules by which runner replies change it,
 * following {@code apisix/plugins/ext-plugin/init.lua} and what a real APISIX 3.18 was measured to
 * do. Pure logic (no I/O), so it is unit-tested on decoded reply objects.
 *
 * <ul>
 * <li>{@code pendingResponseHeaders} are the headers already set on the client response
 * ({@code ngx.header}) before the upstream answers: Rewrite {@code resp_headers}, key-auth's
 * WWW-Authenticate, ...</li>
 * <li>Rewrite: path replaces the upstream path; headers with a value are set, without one
 * removed; {@code resp_headers} are added to the client response (first of a name set, the rest
 * added), names in {@link #EXCLUDED_RESP_HEADERS} skipped; args: no value removes, repeats append.</li>
 * <li>Stop: status 0 is 200; headers set/added on top of the pending ones; the body.</li>
 * <li>Proxied (no post-resp): the upstream's headers (hop-by-hop dropped) plus the pending
 * ones.</li>
 * <li>Post-resp: Set-Cookie headers that earlier phases put into {@code resp_headers} are lost;
 * if the reply has any header only the reply's headers (set/add) are applied, else the upstream's
 * are copied except {@link #EXCLUDED_RESP_HEADERS} (so Content-Type is lost); status 0 keeps
 * the upstream's; a reply body is sent with {@code core.response.exit}. Without a reply body
 * {@code ext-plugin-post-resp.lua} prints the upstream's body: when nothing is printed (no chunk) or
 * the HTTP/1.0 output is buffered (no Content-Length set: {@code lua_http10_buffering}, the flush
 * fails), no header has been sent when {@code before_proxy} returns, and APISIX proxies the request
 * to the upstream a second time ({@link #applyPostResp} returns null, then {@link #proxiedAgain}).</li>
 * </ul>
 *
 * <p>Every response goes through {@link NginxOutput}: nginx's own framing headers first, then the
 * headers set on the response.
 */
public final class GatewayState {
    /** {@code exclude_resp_header} of init.lua. */
    public static final Set<String> EXCLUDED_RESP_HEADERS = Set.of("connection", "content-length",
            "transfer-encoding", "location", "server", "www-authenticate", "content-encoding",
            "content-type", "content-location", "content-language");

    /** What nginx sends when nobody set a Content-Type (APISIX's default_type). */
    public static final String DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8";

    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "transfer-encoding",
            "proxy-connection", "upgrade", "te", "trailer");

    private final String method;
    private final String httpVersion;
    private final HttpHeaders requestHeaders;
    private List<Entry> args;
    private String upstreamPath;
    private final byte[] requestBody;
    private final HttpHeaders pendingResponseHeaders = new HttpHeaders();
    private final Map<String, String> vars = new HashMap<>();

    public GatewayState(String method, String path, List<Entry> args, HttpHeaders requestHeaders, byte[] body) {
        this(method, "HTTP/1.1", path, args, requestHeaders, body);
    }

    public GatewayState(String method, String httpVersion, String path, List<Entry> args, HttpHeaders requestHeaders,
                        byte[] body) {
        this.method = method;
        this.httpVersion = httpVersion;
        this.upstreamPath = path;
        this.args = new ArrayList<>(args);
        this.requestHeaders = requestHeaders.copy();
        this.requestBody = body;
    }

    public static GatewayState of(ClientRequest req) {
        return new GatewayState(req.method(), req.httpVersion(), req.path(), QueryArgs.parse(req.query()),
                req.headers(), req.body());
    }

    // ---------------- accessors ----------------

    public String method() {
        return method;
    }

    public HttpHeaders requestHeaders() {
        return requestHeaders;
    }

    public List<Entry> args() {
        return List.copyOf(args);
    }

    public String upstreamPath() {
        return upstreamPath;
    }

    public byte[] requestBody() {
        return requestBody;
    }

    public HttpHeaders pendingResponseHeaders() {
        return pendingResponseHeaders;
    }

    /** Sets a ctx var (null clears it). */
    public void setVar(String name, String value) {
        if (value == null) {
            vars.remove(name);
        } else {
            vars.put(name, value);
        }
    }

    /**
     * {@code ctx.var[name]}: explicitly set vars first, then nginx variables derived from the
     * request ({@code cookie_*}, {@code http_*}, {@code arg_*}, {@code uri}, {@code request_method},
     * {@code args}); null when nginx would give nil.
     */
    public String var(String name) {
        if (vars.containsKey(name)) {
            return vars.get(name);
        }
        if (name.startsWith("cookie_")) {
            return cookie(name.substring("cookie_".length()));
        }
        if (name.startsWith("http_")) {
            String h = name.substring("http_".length()).replace('_', '-');
            return requestHeaders.get(h);
        }
        if (name.startsWith("arg_")) {
            String a = name.substring("arg_".length());
            for (Entry e : args) {
                if (e.name().equalsIgnoreCase(a)) {
                    return e.value() == null ? "" : e.value();
                }
            }
            return null;
        }
        switch (name) {
            case "uri": return upstreamPath;
            case "request_method": return method;
            case "server_protocol": return httpVersion;
            case "args": {
                String q = QueryArgs.encode(args);
                return q.isEmpty() ? null : q;
            }
            case "host": {
                String h = requestHeaders.get("host");
                return h == null ? null : h.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
            }
            default: return null;
        }
    }

    private String cookie(String name) {
        for (String header : requestHeaders.getAll("cookie")) {
            for (String pair : header.split(";")) {
                String p = pair.trim();
                int eq = p.indexOf('=');
                if (eq > 0 && p.substring(0, eq).trim().equals(name)) {
                    return p.substring(eq + 1).trim();
                }
            }
        }
        return null;
    }

    // ---------------- rules ----------------

    /** {@code core.request.set_header(ctx, name, value)}: null value removes. */
    public void setRequestHeader(String name, String value) {
        requestHeaders.set(name, value);
    }

    /** Applies a Rewrite as init.lua does. */
    public void applyRewrite(Rewrite r) {
        if (r.path() != null) {
            upstreamPath = r.path();
        }
        for (Entry e : r.headers()) {
            requestHeaders.set(e.name(), e.value());
        }
        addResponseHeaders(r.respHeaders(), true);
        if (!r.args().isEmpty()) {
            Map<String, List<String>> current = new LinkedHashMap<>();
            for (Entry a : args) {
                current.computeIfAbsent(a.name(), k -> new ArrayList<>()).add(a.value());
            }
            Set<String> changed = new java.util.HashSet<>();
            for (Entry e : r.args()) {
                if (e.value() == null) {
                    current.remove(e.name());
                } else if (changed.contains(e.name())) {
                    current.computeIfAbsent(e.name(), k -> new ArrayList<>()).add(e.value());
                } else {
                    List<String> one = new ArrayList<>();
                    one.add(e.value());
                    current.put(e.name(), one);
                    changed.add(e.name());
                }
            }
            List<Entry> out = new ArrayList<>();
            current.forEach((k, vs) -> vs.forEach(v -> out.add(new Entry(k, v))));
            args = out;
        }
    }

    /** First occurrence of a name in the list set_header()s, later ones add_header(). */
    private void addResponseHeaders(List<Entry> entries, boolean skipExcluded) {
        Set<String> seen = new java.util.HashSet<>();
        for (Entry e : entries) {
            String name = e.name().toLowerCase(Locale.ROOT);
            if (skipExcluded && EXCLUDED_RESP_HEADERS.contains(name)) {
                continue;
            }
            String value = e.value() == null ? "" : e.value();
            if (seen.add(name)) {
                pendingResponseHeaders.set(name, value);
            } else {
                pendingResponseHeaders.add(name, value);
            }
        }
    }

    /** Applies a Stop: the response the client gets. */
    public ClientResponse applyStop(Stop s) {
        addResponseHeaders(s.headers(), false);
        int status = s.status() == 0 ? 200 : s.status();
        return exit(status, s.body());
    }

    /**
     * {@code core.response.exit(status, body)} (and any other Lua output of a whole body): pending
     * headers plus a default Content-Type; HTTP/1.0 output is buffered, so its length is known.
     */
    public ClientResponse exit(int status, byte[] body) {
        return luaOutput(status, body == null ? new byte[0] : body, true);
    }

    private ClientResponse luaOutput(int status, byte[] body, boolean lengthFromBuffer) {
        HttpHeaders h = pendingResponseHeaders.copy();
        if (!h.contains("content-type")) {
            h.add("Content-Type", DEFAULT_CONTENT_TYPE);
        }
        return NginxOutput.send(client(), status, h, body, lengthFromBuffer);
    }

    private NginxOutput.Client client() {
        return NginxOutput.Client.of(method, httpVersion, requestHeaders);
    }

    /** A normal proxied response: upstream headers (hop-by-hop dropped) plus the pending ones. */
    public ClientResponse proxied(UpstreamResponse up) {
        HttpHeaders h = new HttpHeaders();
        addUpstreamHeaders(up, h);
        for (Entry e : pendingResponseHeaders) {
            h.add(e.name(), e.value());
        }
        return NginxOutput.send(client(), up.status(), h, up.body(), false);
    }

    /**
     * The upstream's answer to the second call APISIX makes after a post-resp reply sent nothing:
     * the headers already set on the response (the reply's) stay, the upstream's are appended
     * (measured, apisix-real-gateway.md §10: {@code X-Session-Subject} reaches the client).
     */
    public ClientResponse proxiedAgain(UpstreamResponse up) {
        HttpHeaders h = pendingResponseHeaders.copy();
        addUpstreamHeaders(up, h);
        return NginxOutput.send(client(), up.status(), h, up.body(), false);
    }

    /** What nginx's proxy module passes on: no hop-by-hop fields, Content-Length as a built-in one. */
    private static void addUpstreamHeaders(UpstreamResponse up, HttpHeaders into) {
        for (Entry e : up.wireHeaders()) {
            if (!HOP_BY_HOP.contains(e.name().toLowerCase(Locale.ROOT))) {
                into.add(e.name(), e.value());
            }
        }
    }

    /**
     * Applies an HTTPRespCall reply (ext-plugin-post-resp) to the upstream's response. Null when
     * {@code before_proxy} sent nothing: APISIX then proxies the request again ({@link #proxiedAgain}).
     */
    public ClientResponse applyPostResp(UpstreamResponse up, RespCallReply reply) {
        // measured: cookies from pre-req/post-req resp_headers do not survive post-resp
        pendingResponseHeaders.remove("set-cookie");
        if (!reply.headers().isEmpty()) {
            addResponseHeaders(reply.headers(), false);
        } else {
            copyUpstreamHeaders(up);
        }
        int status = reply.status() == 0 ? up.status() : reply.status();
        if (reply.body().length > 0) {
            // BodyLength() > 0: before_proxy returns code, body and APISIX answers with exactly that
            return exit(status, reply.body());
        }
        return sendResponse(status, up);
    }

    /**
     * A post-resp call that failed (no reply, an error frame, the runner down): {@code communicate}
     * returns 503 (nothing with {@code allow_degradation}) and no body, so {@code before_proxy}
     * prints the upstream body under that status (the upstream's own with degradation), with none
     * of the upstream's headers: they are applied only from a reply. Null when nothing went out:
     * APISIX then proxies the request again.
     */
    public ClientResponse postRespFailed(UpstreamResponse up, boolean degraded) {
        return sendResponse(degraded ? up.status() : 503, up);
    }

    /**
     * {@code send_response} of ext-plugin-post-resp.lua: {@code ngx.print} + {@code ngx.flush(true)}
     * per chunk of the upstream body. Null when no header went out: nothing was printed, or the
     * output of an HTTP/1.0 request without a Content-Length is buffered by ngx_lua (the flush fails
     * with "buffering").
     */
    private ClientResponse sendResponse(int status, UpstreamResponse up) {
        List<byte[]> chunks = up.bodyChunks(method);
        if (chunks.isEmpty()) {
            return null;
        }
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        chunks.forEach(body::writeBytes);
        // ngx.print("") sends the head at once; only data is buffered (lua-nginx-module 0.10.23)
        if ("HTTP/1.0".equals(httpVersion) && !pendingResponseHeaders.contains("content-length")
                && body.size() > 0) {
            return null;
        }
        return luaOutput(status, body.toByteArray(), false);
    }

    private void copyUpstreamHeaders(UpstreamResponse up) {
        Map<String, List<Entry>> byName = new LinkedHashMap<>();
        for (Entry e : up.wireHeaders()) {
            byName.computeIfAbsent(e.name().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(e);
        }
        byName.forEach((lname, list) -> {
            if (EXCLUDED_RESP_HEADERS.contains(lname) || HOP_BY_HOP.contains(lname)) {
                return;
            }
            pendingResponseHeaders.remove(lname);
            for (Entry e : list) {
                pendingResponseHeaders.add(e.name(), e.value());
            }
        });
    }

    /** What the upstream receives right now. */
    public UpstreamRequest upstreamRequest() {
        return new UpstreamRequest(method, upstreamPath, args, requestHeaders, requestBody);
    }
}
