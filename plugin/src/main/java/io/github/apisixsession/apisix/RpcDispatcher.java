package io.github.apisixsession.apisix;

import io.github.api7.A6.Err.Code;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.postresp.FramingHeaders;
import io.github.apisixsession.postresp.PostRespReply;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one RPC frame from APISIX with exactly one reply frame. Never logs header values, cookies
 * or conf values: only names, ids, keys and exception classes with their messages.
 */
final class RpcDispatcher {

    private static final Logger LOG = LoggerFactory.getLogger(RpcDispatcher.class);

    private final Map<String, ExtPlugin<?>> plugins;
    private final ConfCache confCache;

    RpcDispatcher(Map<String, ExtPlugin<?>> plugins, ConfCache confCache) {
        this.plugins = Map.copyOf(plugins);
        this.confCache = confCache;
    }

    /**
     * The reply to {@code frame}.
     *
     * @throws MalformedRpcException when the frame cannot be decoded (answer BAD_REQUEST, close)
     */
    A6Frame handle(A6Frame frame, GatewayLink link) throws MalformedRpcException {
        return switch (frame.type()) {
            case A6Frame.RPC_PREPARE_CONF -> prepareConf(A6Codec.decodePrepareConf(frame.payload()));
            case A6Frame.RPC_HTTP_REQ_CALL -> reqCall(A6Codec.decodeReqCall(frame.payload()), link);
            case A6Frame.RPC_HTTP_RESP_CALL -> respCall(A6Codec.decodeRespCall(frame.payload()), link);
            default -> throw new MalformedRpcException("unexpected frame type " + frame.type());
        };
    }

    /**
     * A plugin name as APISIX's route conf gives it. Anything else is not logged: with name and
     * value swapped, the "name" is the conf itself, secret included.
     */
    static String loggable(String name) {
        return name.matches("[A-Za-z0-9._-]{1,64}") ? name
                : "(a name of " + name.length() + " characters, not logged)";
    }

    static A6Frame error(int code) {
        return new A6Frame(A6Frame.RPC_ERROR, A6Codec.error(code));
    }

    private A6Frame prepareConf(A6Codec.PrepareConfRequest req) {
        ConfCache.ConfSource source = new ConfCache.ConfSource(req.key(), req.entries());
        PluginChain chain = confCache.parsed(source);
        if (chain == null) {
            List<PluginChain.Link<?>> links = new ArrayList<>(req.entries().size());
            for (ConfCache.Entry entry : req.entries()) {
                ExtPlugin<?> plugin = plugins.get(entry.name());
                if (plugin == null) {
                    LOG.error("conf {}: {}: name: unknown plugin (known: {})", req.key(), loggable(entry.name()),
                            plugins.keySet());
                    return error(Code.BAD_REQUEST);
                }
                try {
                    links.add(PluginChain.Link.prepare(plugin, entry.value()));
                } catch (ConfigException e) {
                    LOG.error("conf {}: {}: {}", req.key(), loggable(entry.name()), e.getMessage());
                    return error(Code.BAD_REQUEST);
                } catch (RuntimeException e) {
                    LOG.error("conf {}: {}: prepare failed: {}: {}", req.key(), loggable(entry.name()),
                            e.getClass().getName(), e.getMessage());
                    LOG.debug("prepare failure", e);
                    return error(Code.SERVICE_UNAVAILABLE);
                }
            }
            chain = new PluginChain(links);
        }
        long token = confCache.register(source, chain);
        LOG.debug("conf {}: token {}", req.key(), token);
        return new A6Frame(A6Frame.RPC_PREPARE_CONF, A6Codec.prepareConfResp(token));
    }

    private A6Frame reqCall(A6Codec.ReqCallRequest req, GatewayLink link) {
        PluginChain chain = confCache.lookup(req.confToken());
        if (chain == null) {
            LOG.info("HTTPReqCall {}: conf token {} not found", req.id(), req.confToken());
            return error(Code.CONF_TOKEN_NOT_FOUND);
        }
        A6RequestView view = new A6RequestView(req, link);
        // a chain of one plugin (the usual route) answers with its own lists: nothing to merge
        List<HttpHeader> requestHeaders = List.of();
        List<HttpHeader> responseHeaders = List.of();
        for (PluginChain.Link<?> step : chain.links()) {
            RequestDecision decision;
            try {
                decision = step.onRequest(view);
            } catch (Exception | StackOverflowError e) {
                return pluginFailed("HTTPReqCall", req.id(), step, e);
            }
            if (decision instanceof RequestDecision.Respond respond) {
                return new A6Frame(A6Frame.RPC_HTTP_REQ_CALL, A6Codec.reqCallStop(
                        req.id(), respond.status(), respond.headers(), respond.body()));
            }
            if (decision instanceof RequestDecision.Proceed proceed) {
                requestHeaders = concat(requestHeaders, proceed.requestHeaders());
                responseHeaders = concat(responseHeaders, proceed.responseHeaders());
            }
        }
        if (requestHeaders.isEmpty() && responseHeaders.isEmpty()) {
            return new A6Frame(A6Frame.RPC_HTTP_REQ_CALL, A6Codec.reqCallNone(req.id()));
        }
        return new A6Frame(A6Frame.RPC_HTTP_REQ_CALL,
                A6Codec.reqCallRewrite(req.id(), requestHeaders, responseHeaders));
    }

    private static List<HttpHeader> concat(List<HttpHeader> first, List<HttpHeader> then) {
        if (first.isEmpty()) {
            return then;
        }
        if (then.isEmpty()) {
            return first;
        }
        List<HttpHeader> both = new ArrayList<>(first.size() + then.size());
        both.addAll(first);
        both.addAll(then);
        return both;
    }

    private A6Frame respCall(A6Codec.RespCallRequest req, GatewayLink link) {
        PluginChain chain = confCache.lookup(req.confToken());
        if (chain == null) {
            LOG.info("HTTPRespCall {}: conf token {} not found", req.id(), req.confToken());
            return error(Code.CONF_TOKEN_NOT_FOUND);
        }
        // the upstream body first: a reply without it can make APISIX call the upstream again
        boolean fetch = PostRespReply.fetchBody(req.headers());
        byte[] body = null;
        if (fetch) {
            try {
                body = link.responseBody();
            } catch (GatewayException e) {
                LOG.warn("HTTPRespCall {}: {}", req.id(), e.getMessage());
                return error(Code.SERVICE_UNAVAILABLE);
            }
            if (body == null) {
                LOG.warn("HTTPRespCall {}: APISIX could not read the upstream body", req.id());
                return respCallReply(req.id(), PostRespReply.unavailable());
            }
        }
        A6ResponseView view = new A6ResponseView(req, link);
        ResponseDecision last = null;
        for (PluginChain.Link<?> step : chain.links()) {
            try {
                ResponseDecision decision = step.onResponse(view);
                if (decision != null) {
                    last = decision;
                }
            } catch (Exception | StackOverflowError e) {
                A6Frame failed = pluginFailed("HTTPRespCall", req.id(), step, e);
                // an error frame makes APISIX print the upstream body under a 503 and, for an
                // HTTP/1.0 client, call the upstream again: answer with a body instead
                return e instanceof GatewayException ? failed
                        : respCallReply(req.id(), PostRespReply.pluginFailed());
            }
        }
        // No opinion: a reply with no header makes APISIX copy the upstream's headers minus
        // Content-Type and others; one with any header makes it apply only those. So re-emit every
        // upstream header (repeated ones and Content-Type included); status 0 keeps the upstream's.
        if (last != null && last.body() != null) {
            // the plugin answers in place of the upstream (a failure it reports): exactly that
            return respCallReply(req.id(), new PostRespReply.Reply(last.status(),
                    FramingHeaders.strip(req.headers(), last.headers()), last.body()));
        }
        int status = last == null ? 0 : last.status();
        List<HttpHeader> headers = FramingHeaders.strip(req.headers(), last == null ? req.headers() : last.headers());
        try {
            PostRespReply.Variables vars = name -> variable(link, name);
            return respCallReply(req.id(), fetch
                    ? PostRespReply.complete(status, headers, req.status(), req.headers(), body,
                            PostRespReply.Carry.BODY, vars)
                    : PostRespReply.unfetched(status, headers, req.status(), req.headers(),
                            PostRespReply.Carry.BODY, vars));
        } catch (GatewayException e) {
            LOG.warn("HTTPRespCall {}: {}", req.id(), e.getMessage());
            return error(Code.SERVICE_UNAVAILABLE);
        }
    }

    private static String variable(GatewayLink link, String name) throws GatewayException {
        byte[] value = link.variable(name);
        return value == null ? "" : new String(value, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static A6Frame respCallReply(long id, PostRespReply.Reply reply) {
        List<HttpHeader> headers = new ArrayList<>(reply.headers().size());
        for (HttpHeader h : reply.headers()) {
            headers.add(h.value() == null ? new HttpHeader(h.name(), "") : h);
        }
        return new A6Frame(A6Frame.RPC_HTTP_RESP_CALL, A6Codec.respCallResp(id, reply.status(), headers, reply.body()));
    }

    private static A6Frame pluginFailed(String rpc, long id, PluginChain.Link<?> step, Throwable e) {
        if (e instanceof io.github.apisixsession.core.GatewayException) {
            // APISIX's side of the connection failed (closed, timed out, out of step): not the
            // plugin's fault, and the connection is closed without a reply anyway
            LOG.warn("{} {}: plugin {} stopped: {}", rpc, id, step.plugin().name(), e.getMessage());
            return error(Code.SERVICE_UNAVAILABLE);
        }
        LOG.error("{} {}: plugin {} failed: {}: {}", rpc, id, step.plugin().name(), e.getClass().getName(),
                e.getMessage());
        LOG.debug("plugin failure", e);
        return error(Code.SERVICE_UNAVAILABLE);
    }
}
