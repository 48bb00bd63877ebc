package io.github.apisixsession.simulator;

import io.github.apisixsession.simulator.A6.ErrorReply;
import io.github.apisixsession.simulator.A6.ExtraInfoAnswer;
import io.github.apisixsession.simulator.A6.ExtraInfoQuery;
import io.github.apisixsession.simulator.A6.HttpReqCallRequest;
import io.github.apisixsession.simulator.A6.HttpRespCallRequest;
import io.github.apisixsession.simulator.A6.NoAction;
import io.github.apisixsession.simulator.A6.PrepareConfReply;
import io.github.apisixsession.simulator.A6.PrepareConfRequest;
import io.github.apisixsession.simulator.A6.ReqCallReply;
import io.github.apisixsession.simulator.A6.RespCallReply;
import io.github.apisixsession.simulator.A6.Rewrite;
import io.github.apisixsession.simulator.A6.Stop;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Plays one APISIX worker in front of a runner socket: routes with {@code ext-plugin-pre-req},
 * {@code key-auth}, {@code ext-plugin-post-req}, an upstream and {@code ext-plugin-post-resp}, in
 * APISIX's phase order, speaking the ext-plugin protocol as {@code ext-plugin/init.lua} does
 * (PrepareConf per phase and route, per route and consumer once a consumer is attached; token
 * cache; ExtraInfo loop; CONF_TOKEN_NOT_FOUND flush and retry up to 3 times; 503 on any other
 * runner error unless {@code allow_degradation}). Thread-safe: many requests may run at once, each
 * RPC on its own pooled connection.
 */
public final class SimulatedApisix implements AutoCloseable {
    /** Measured on APISIX 3.18 standalone: the version part of PrepareConf keys is a number. */
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path socket;
    private final ConnectionPool pool;
    private final List<Route> routes = new CopyOnWriteArrayList<>();
    private final Map<String, Consumer> consumersByName = new ConcurrentHashMap<>();
    private final Map<String, CachedToken> tokens = new ConcurrentHashMap<>();
    private final ReentrantLock prepareConfLock = new ReentrantLock();
    private final AtomicInteger idCounter = new AtomicInteger();
    private final AtomicLong prepareConfCount = new AtomicLong();
    private final AtomicLong tokenNotFoundCount = new AtomicLong();
    private final List<java.util.function.Consumer<String>> listeners = new CopyOnWriteArrayList<>();
    private final int workerId;
    private volatile Duration tokenTtl = Duration.ofSeconds((long) (3600 * 0.9));
    private volatile boolean consumerHeaders = true;

    private record CachedToken(long token, long expiresAtNanos) {
    }

    /** A gateway in front of {@code socket} with worker id 0, 32 idle connections, 60 s read timeout. */
    public SimulatedApisix(Path socket) {
        this(socket, 0, Duration.ofSeconds(60));
    }

    public SimulatedApisix(Path socket, int workerId, Duration readTimeout) {
        this.socket = socket;
        this.workerId = workerId;
        this.pool = new ConnectionPool(socket, 32, readTimeout);
    }

    /** Starts a gateway in front of a runner process's socket. */
    public static SimulatedApisix in(RunnerProcess runner) {
        return new SimulatedApisix(runner.socketPath());
    }

    // ---------------- configuration ----------------

    public SimulatedApisix route(Route route) {
        routes.removeIf(r -> r.uri().equals(route.uri()));
        routes.add(route);
        return this;
    }

    public SimulatedApisix consumer(Consumer consumer) {
        consumersByName.put(consumer.username(), consumer);
        return this;
    }

    /** A consumer with a key-auth key. */
    public SimulatedApisix consumer(String username, String key) {
        return consumer(Consumer.of(username, key));
    }

    /** How long a conf token is reused before a new PrepareConf (APISIX: 0.9 × cache time). */
    public SimulatedApisix tokenTtl(Duration ttl) {
        this.tokenTtl = ttl;
        return this;
    }

    /**
     * Behave as APISIX before 3.11: {@code attach_consumer} sets {@code consumer_name} but no
     * request header, so X-Consumer-Username, X-Credential-Identifier and X-Consumer-Custom-ID
     * reach the plugins as the client sent them.
     */
    public SimulatedApisix beforeApisix311() {
        this.consumerHeaders = false;
        return this;
    }

    /** Receives every transcript line as it happens (e.g. to print a demo live). */
    public SimulatedApisix onTranscript(java.util.function.Consumer<String> listener) {
        listeners.add(listener);
        return this;
    }

    /** Forgets every cached conf token, as APISIX does on {@code runner_exit}. */
    public void flushTokens() {
        tokens.clear();
    }

    public Map<String, Long> cachedTokens() {
        Map<String, Long> out = new java.util.TreeMap<>();
        tokens.forEach((k, v) -> out.put(k, v.token()));
        return out;
    }

    public long prepareConfCount() {
        return prepareConfCount.get();
    }

    public long tokenNotFoundCount() {
        return tokenNotFoundCount.get();
    }

    public ConnectionPool pool() {
        return pool;
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() {
        pool.close();
    }

    // ---------------- the request path ----------------

    /** One request through the gateway. Never throws for runner trouble: that is a 5xx. */
    public Exchange send(ClientRequest request) {
        Ctx ctx = new Ctx(request);
        ClientResponse response = run(ctx);
        ctx.log("← " + response.status() + " " + response.headers()
                + (response.body().length > 0 ? " body=" + A6.abbreviate(response.bodyAsString(), 120) : ""));
        return new Exchange(request, response, ctx.upstreamRequest, ctx.lines, ctx.requestId, ctx.upstreamCalls);
    }

    private ClientResponse run(Ctx ctx) {
        Route route = null;
        for (Route r : routes) {
            if (r.matches(ctx.request.path())) {
                route = r;
                break;
            }
        }
        ctx.log("→ " + ctx.request.method() + " " + ctx.request.uri() + " " + ctx.request.headers()
                + (route == null ? " (no route)" : " [route " + route.id() + "]"));
        if (route == null) {
            ctx.state.pendingResponseHeaders().set("Content-Type", "application/json");
            return ctx.state.exit(404, bytes("{\"error_msg\":\"404 Route Not Found\"}\n"));
        }
        ctx.route = route;

        // rewrite phase: ext-plugin-pre-req (priority 12000) before key-auth (2500)
        if (route.preReq() != null) {
            ClientResponse stop = communicate(ctx, Route.PRE_REQ, route.preReq());
            if (stop != null) {
                return stop;
            }
        }
        if (route.keyAuth() != null) {
            ClientResponse denied = keyAuth(ctx, route.keyAuth());
            if (denied != null) {
                return denied;
            }
        }
        // access phase: ext-plugin-post-req
        if (route.postReq() != null) {
            ClientResponse stop = communicate(ctx, Route.POST_REQ, route.postReq());
            if (stop != null) {
                return stop;
            }
        }
        // upstream (fetched by ext-plugin-post-resp itself when configured)
        UpstreamResponse up = callUpstream(ctx, route);
        if (up == null) {
            return ctx.state.exit(502, bytes("upstream error\n"));
        }
        ctx.upstreamResponse = up;
        if (route.postResp() != null) {
            ClientResponse sent = communicateResp(ctx, route.postResp(), up);
            if (sent != null) {
                return sent;
            }
            // before_proxy returned nothing and no header went out: the access phase ends and
            // nginx proxies the request (ext-plugin-post-resp.lua, apisix-real-gateway.md §10)
            ctx.log(tag(Route.POST_RESP) + " no response sent"
                    + ("HTTP/1.0".equals(ctx.request.httpVersion()) ? " (flush response failed: buffering)" : "")
                    + " → APISIX proxies the request to the upstream again");
            UpstreamResponse again = callUpstream(ctx, route);
            if (again == null) {
                return ctx.state.exit(502, bytes("upstream error\n"));
            }
            return ctx.state.proxiedAgain(again);
        }
        return ctx.state.proxied(up);
    }

    /** One call of the route's upstream (counted); null when the upstream failed. */
    private UpstreamResponse callUpstream(Ctx ctx, Route route) {
        UpstreamRequest upReq = ctx.state.upstreamRequest();
        ctx.upstreamRequest = upReq;
        ctx.upstreamCalls++;
        UpstreamResponse up;
        try {
            up = route.upstream().handle(upReq);
        } catch (Exception e) {
            ctx.log("upstream failed: " + e);
            return null;
        }
        ctx.log("upstream ← " + upReq.method() + " " + upReq.uri() + " " + upReq.headers());
        ctx.log("upstream → " + up.status() + " " + up.wireHeaders());
        return up;
    }

    private ClientResponse keyAuth(Ctx ctx, KeyAuth conf) {
        String key = ctx.state.requestHeaders().get(conf.header());
        boolean fromHeader = key != null;
        if (key == null) {
            for (Entry a : ctx.state.args()) {
                if (a.name().equals(conf.query()) && a.value() != null) {
                    key = a.value();
                    break;
                }
            }
        }
        Consumer consumer = null;
        String err = null;
        if (key == null) {
            err = "Missing API key in request";
        } else {
            for (Consumer c : consumersByName.values()) {
                if (key.equals(c.key())) {
                    consumer = c;
                    break;
                }
            }
            if (consumer == null) {
                err = "Invalid API key in request";
            } else if (conf.hideCredentials()) {
                hideCredential(ctx, conf, fromHeader);
            }
        }
        if (consumer == null) {
            if (conf.anonymousConsumer() == null) {
                ctx.log("key-auth: 401 " + err);
                ctx.state.pendingResponseHeaders().set("WWW-Authenticate", "apikey realm=\"key\"");
                ctx.state.pendingResponseHeaders().set("Content-Type", "application/json");
                return ctx.state.exit(401, bytes("{\"message\":\"" + err + "\"}\n"));
            }
            if (conf.hideCredentials()) {
                hideCredential(ctx, conf, true);
                hideCredential(ctx, conf, false);
            }
            consumer = consumersByName.get(conf.anonymousConsumer());
            if (consumer == null) {
                ctx.log("key-auth: 401 failed to get anonymous consumer " + conf.anonymousConsumer());
                ctx.state.pendingResponseHeaders().set("WWW-Authenticate", "apikey realm=\"key\"");
                ctx.state.pendingResponseHeaders().set("Content-Type", "application/json");
                return ctx.state.exit(401, bytes("{\"message\":\"Invalid user authorization\"}\n"));
            }
            ctx.log("key-auth: " + err + " → anonymous consumer " + consumer.username());
        } else {
            ctx.log("key-auth: consumer " + consumer.username());
        }
        // consumer.attach_consumer (APISIX >= 3.11 also sets these request headers)
        ctx.consumer = consumer;
        ctx.state.setVar("consumer_name", consumer.username());
        if (consumerHeaders) {
            ctx.state.setRequestHeader("X-Consumer-Username", consumer.username());
            ctx.state.setRequestHeader("X-Credential-Identifier", consumer.credentialId());
            ctx.state.setRequestHeader("X-Consumer-Custom-ID", consumer.customId());
        }
        return null;
    }

    private static void hideCredential(Ctx ctx, KeyAuth conf, boolean header) {
        if (header) {
            ctx.state.setRequestHeader(conf.header(), null);
        } else {
            ctx.state.applyRewrite(new Rewrite(0, null, List.of(), List.of(new Entry(conf.query(), null)), List.of()));
        }
    }

    /** {@code _M.communicate} for HTTPReqCall: null to go on, or the response that ends the request. */
    private ClientResponse communicate(Ctx ctx, String phase, ExtPluginConf conf) {
        String err = null;
        for (int tries = 1; tries <= 3; tries++) {
            try {
                ReqCallReply reply = rpcReqCall(ctx, phase, conf);
                if (reply instanceof Stop s) {
                    return ctx.state.applyStop(s);
                }
                if (reply instanceof Rewrite r) {
                    ctx.state.applyRewrite(r);
                }
                return null;
            } catch (RpcFailure f) {
                err = f.getMessage();
                if (!err.contains("conf token not found")) {
                    return failed(ctx, phase, conf, err, null);
                }
                tokenNotFoundCount.incrementAndGet();
                ctx.log(tag(phase) + " " + err + " → refresh cache and try again (try " + tries + "/3)");
                flushTokens();
            }
        }
        return failed(ctx, phase, conf, err + " (after 3 tries)", null);
    }

    private ClientResponse failed(Ctx ctx, String phase, ExtPluginConf conf, String err, UpstreamResponse up) {
        if (conf.allowDegradation()) {
            ctx.log(tag(phase) + " error: " + err + " → Plugin Runner is wrong, allow degradation");
            return up == null ? null : ctx.state.postRespFailed(up, true);
        }
        ctx.log(tag(phase) + " error: " + err + " → 503");
        if (up != null) {
            // before_proxy gets code 503 without a body: it prints the upstream body under it
            return ctx.state.postRespFailed(up, false);
        }
        return ctx.state.exit(503, bytes("<html><head><title>503 Service Temporarily Unavailable</title></head></html>\n"));
    }

    private ClientResponse communicateResp(Ctx ctx, ExtPluginConf conf, UpstreamResponse up) {
        String err = null;
        for (int tries = 1; tries <= 3; tries++) {
            try {
                RespCallReply reply = rpcRespCall(ctx, conf, up);
                return ctx.state.applyPostResp(up, reply);
            } catch (RpcFailure f) {
                err = f.getMessage();
                if (!err.contains("conf token not found")) {
                    return failed(ctx, Route.POST_RESP, conf, err, up);
                }
                tokenNotFoundCount.incrementAndGet();
                ctx.log(tag(Route.POST_RESP) + " " + err + " → refresh cache and try again (try " + tries + "/3)");
                flushTokens();
            }
        }
        return failed(ctx, Route.POST_RESP, conf, err + " (after 3 tries)", up);
    }

    private ReqCallReply rpcReqCall(Ctx ctx, String phase, ExtPluginConf conf) throws RpcFailure {
        RunnerConnection c = connect();
        boolean ok = false;
        try {
            long token = token(ctx, phase, conf);
            long id = nextId();
            HttpReqCallRequest req = new HttpReqCallRequest(id, srcIp(ctx.request.remoteAddr()),
                    methodCode(ctx.state.method()), ctx.state.upstreamPath(), ctx.state.args(),
                    lowerCased(ctx.state.requestHeaders()), token);
            ctx.log(tag(phase) + " HTTPReqCall id=" + id + " token=" + token + " conn#" + c.serial() + " "
                    + ctx.state.method() + " " + req.path() + (req.args().isEmpty() ? "" : " args=" + req.args())
                    + " headers=" + req.headers());
            send(c, A6Codec.encode(req), "RPC_HTTP_REQ_CALL");
            Frame f = receiveAnswering(ctx, c, phase, "RPC_HTTP_REQ_CALL");
            if (f.type() != Frame.RPC_HTTP_REQ_CALL) {
                throw new RpcFailure("failed to receive RPC_HTTP_REQ_CALL: unexpected type " + f.type());
            }
            ReqCallReply reply;
            try {
                reply = A6Codec.decodeReqCallReply(f);
            } catch (RuntimeException e) {
                throw new RpcFailure("failed to decode RPC_HTTP_REQ_CALL reply: " + e);
            }
            ctx.log(tag(phase) + " HTTPReqCall → " + reply + (reply instanceof NoAction ? "" : ""));
            ok = true;
            return reply;
        } finally {
            release(c, ok);
        }
    }

    private RespCallReply rpcRespCall(Ctx ctx, ExtPluginConf conf, UpstreamResponse up) throws RpcFailure {
        String phase = Route.POST_RESP;
        RunnerConnection c = connect();
        boolean ok = false;
        try {
            long token = token(ctx, phase, conf);
            long id = nextId();
            HttpRespCallRequest req = new HttpRespCallRequest(id, up.status(), up.wireHeaders().entries(), token);
            ctx.log(tag(phase) + " HTTPRespCall id=" + id + " token=" + token + " conn#" + c.serial()
                    + " status=" + up.status() + " headers=" + req.headers());
            send(c, A6Codec.encode(req), "RPC_HTTP_RESP_CALL");
            Frame f = receiveAnswering(ctx, c, phase, "RPC_HTTP_REQ_CALL");
            if (f.type() != Frame.RPC_HTTP_RESP_CALL) {
                throw new RpcFailure("failed to receive RPC_HTTP_RESP_CALL: unexpected type " + f.type());
            }
            RespCallReply reply;
            try {
                reply = A6Codec.decodeRespCallReply(f);
            } catch (RuntimeException e) {
                throw new RpcFailure("failed to decode RPC_HTTP_RESP_CALL reply: " + e);
            }
            ctx.log(tag(phase) + " HTTPRespCall → " + reply);
            ok = true;
            return reply;
        } finally {
            release(c, ok);
        }
    }

    /** Reads frames, answering ExtraInfo queries, until the final reply (or an error frame). */
    private Frame receiveAnswering(Ctx ctx, RunnerConnection c, String phase, String what) throws RpcFailure {
        while (true) {
            Frame f;
            try {
                f = c.receive();
            } catch (IOException e) {
                throw new RpcFailure("failed to receive " + what + ": " + e.getMessage());
            }
            if (f.type() == Frame.RPC_ERROR) {
                ErrorReply er = safeError(f);
                ctx.log(tag(phase) + " ← " + er);
                throw new RpcFailure("failed to receive " + what + ": " + errToMsg(er.code()));
            }
            if (f.type() != Frame.RPC_EXTRA_INFO) {
                return f;
            }
            ExtraInfoQuery q;
            try {
                q = A6Codec.decodeExtraInfoQuery(f);
            } catch (RuntimeException e) {
                throw new RpcFailure("failed to handle RPC_EXTRA_INFO: " + e.getMessage());
            }
            byte[] result = extraInfo(ctx, phase, q);
            ctx.log(tag(phase) + "   ExtraInfo " + q + " → "
                    + (result == null ? "(nil)" : "\"" + A6.abbreviate(new String(result, StandardCharsets.UTF_8), 80) + "\""));
            send(c, A6Codec.encode(new ExtraInfoAnswer(result)), "RPC_EXTRA_INFO");
        }
    }

    private byte[] extraInfo(Ctx ctx, String phase, ExtraInfoQuery q) {
        switch (q.kind()) {
            case VAR: {
                String v = ctx.var(q.name());
                return v == null ? null : bytes(v);
            }
            case REQ_BODY:
                return ctx.state.requestBody();
            default:
                if (Route.POST_RESP.equals(phase) && ctx.upstreamResponse != null) {
                    // every chunk the body reader yields, concatenated ("" when none)
                    java.io.ByteArrayOutputStream read = new java.io.ByteArrayOutputStream();
                    ctx.upstreamResponse.bodyChunks(ctx.state.method()).forEach(read::writeBytes);
                    return read.toByteArray();
                }
                ctx.log(tag(phase) + "   failed to read response body: not exits");
                return null;
        }
    }

    /** The conf token for this phase, from the cache or a PrepareConf on another connection. */
    private long token(Ctx ctx, String phase, ExtPluginConf conf) throws RpcFailure {
        String key = confKey(ctx, phase);
        CachedToken t = tokens.get(key);
        if (t != null && t.expiresAtNanos() > System.nanoTime()) {
            return t.token();
        }
        prepareConfLock.lock();
        try {
            t = tokens.get(key);
            if (t != null && t.expiresAtNanos() > System.nanoTime()) {
                return t.token();
            }
            RunnerConnection c = connect();
            boolean ok = false;
            try {
                PrepareConfRequest req = new PrepareConfRequest(key, conf.conf());
                send(c, A6Codec.encode(req), "RPC_PREPARE_CONF");
                Frame f;
                try {
                    f = c.receive();
                } catch (IOException e) {
                    throw new RpcFailure("failed to receive RPC_PREPARE_CONF: " + e.getMessage());
                }
                if (f.type() == Frame.RPC_ERROR) {
                    ErrorReply er = safeError(f);
                    ctx.log(tag(phase) + " PrepareConf key=" + key + " conf=" + conf.names() + " conn#" + c.serial()
                            + " → " + er);
                    throw new RpcFailure("failed to receive RPC_PREPARE_CONF: " + errToMsg(er.code()));
                }
                if (f.type() != Frame.RPC_PREPARE_CONF) {
                    throw new RpcFailure("failed to receive RPC_PREPARE_CONF: unexpected type " + f.type());
                }
                PrepareConfReply reply = A6Codec.decodePrepareConfReply(f);
                prepareConfCount.incrementAndGet();
                ctx.log(tag(phase) + " PrepareConf key=" + key + " conf=" + conf.names() + " conn#" + c.serial()
                        + " → token " + reply.confToken());
                tokens.put(key, new CachedToken(reply.confToken(), System.nanoTime() + tokenTtl.toNanos()));
                ok = true;
                return reply.confToken();
            } finally {
                release(c, ok);
            }
        } finally {
            prepareConfLock.unlock();
        }
    }

    /**
     * {@code route#<route>#<phase>#<version>}, or once a consumer is attached (post-req,
     * post-resp) {@code route&consumer#<route>&<consumer>#<phase>#<route version>&<consumer version>}.
     */
    static String confKey(Route route, Consumer consumer, String phase) {
        if (consumer == null) {
            return "route#" + route.id() + "#" + phase + "#" + route.version();
        }
        return "route&consumer#" + route.id() + "&" + consumer.username() + "#" + phase + "#"
                + route.version() + "&" + consumer.version();
    }

    private static String confKey(Ctx ctx, String phase) {
        return confKey(ctx.route, Route.PRE_REQ.equals(phase) ? null : ctx.consumer, phase);
    }

    private RunnerConnection connect() throws RpcFailure {
        try {
            return pool.acquire();
        } catch (IOException e) {
            throw new RpcFailure("failed to connect to the unix socket " + socket + ": " + e.getMessage());
        }
    }

    private void release(RunnerConnection c, boolean ok) {
        if (ok) {
            pool.release(c);
        } else {
            pool.discard(c);
        }
    }

    private static void send(RunnerConnection c, Frame f, String what) throws RpcFailure {
        try {
            c.send(f);
        } catch (IOException e) {
            throw new RpcFailure("failed to send " + what + ": " + e.getMessage());
        }
    }

    private static ErrorReply safeError(Frame f) {
        try {
            return A6Codec.decodeError(f);
        } catch (RuntimeException e) {
            return new ErrorReply(-1);
        }
    }

    static String errToMsg(int code) {
        switch (code) {
            case A6.ERR_BAD_REQUEST: return "bad request";
            case A6.ERR_SERVICE_UNAVAILABLE: return "service unavailable";
            case A6.ERR_CONF_TOKEN_NOT_FOUND: return "conf token not found";
            default: return "unknown err " + code;
        }
    }

    private long nextId() {
        int n = idCounter.getAndUpdate(i -> (i + 1) & ((1 << 22) - 1));
        return ((long) workerId << 22) + n;
    }

    private static int methodCode(String method) {
        Integer m = A6.methodCode(method);
        return m == null ? 0 : m;
    }

    /** {@code ngx.req.get_headers()} gives lower-cased names. */
    private static List<Entry> lowerCased(HttpHeaders h) {
        List<Entry> out = new ArrayList<>(h.size());
        for (Entry e : h) {
            out.add(new Entry(e.name().toLowerCase(java.util.Locale.ROOT), e.value()));
        }
        return out;
    }

    /** {@code $binary_remote_addr}. */
    static byte[] srcIp(String addr) {
        return NginxAddress.binary(addr);
    }

    private static String tag(String phase) {
        return "[" + phase.substring("ext-plugin-".length()) + "]";
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void emit(String line) {
        for (java.util.function.Consumer<String> l : listeners) {
            l.accept(line);
        }
    }

    /** An RPC that failed, with init.lua's error message. */
    private static final class RpcFailure extends Exception {
        private static final long serialVersionUID = 1L;

        RpcFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** Per-request context ({@code api_ctx}). */
    private final class Ctx {
        final ClientRequest request;
        final GatewayState state;
        final String requestId;
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        Route route;
        Consumer consumer;
        UpstreamRequest upstreamRequest;
        UpstreamResponse upstreamResponse;
        int upstreamCalls;

        Ctx(ClientRequest request) {
            this.request = request;
            this.state = GatewayState.of(request);
            byte[] id = new byte[16];
            RANDOM.nextBytes(id);
            this.requestId = HexFormat.of().formatHex(id);
        }

        String var(String name) {
            switch (name) {
                case "request_id": return requestId;
                case "remote_addr": return NginxAddress.text(NginxAddress.binary(request.remoteAddr()));
                case "scheme": return request.scheme();
                case "consumer_name": return consumer == null ? null : consumer.username();
                case "route_id": return route == null ? null : route.id();
                default: return state.var(name);
            }
        }

        void log(String line) {
            lines.add(line);
            emit(line);
        }
    }
}
