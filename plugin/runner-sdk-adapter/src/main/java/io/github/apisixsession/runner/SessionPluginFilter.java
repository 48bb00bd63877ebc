package io.github.apisixsession.runner;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.config.Identity;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.ResponseDecision;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.postresp.FramingHeaders;
import io.github.apisixsession.postresp.PostRespReply;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageContext;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.apisix.plugin.runner.A6Conf;
import org.apache.apisix.plugin.runner.A6ConfigWatcher;
import org.apache.apisix.plugin.runner.HttpRequest;
import org.apache.apisix.plugin.runner.HttpResponse;
import org.apache.apisix.plugin.runner.PostRequest;
import org.apache.apisix.plugin.runner.PostResponse;
import org.apache.apisix.plugin.runner.filter.PluginFilter;
import org.apache.apisix.plugin.runner.filter.PluginFilterChain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * The {@code session} filter for apache/apisix-java-plugin-runner 0.4.0: the same engine as our own
 * host, in two halves.
 *
 * <ul>
 * <li>{@link #filter} (ext-plugin-post-req, or pre-req): opens the cookie, logs out (a Stop with the
 * cookies expired), creates / renews the session, sets or removes the identity headers of the
 * upstream request, and keeps the response headers it decided (Set-Cookie, Session-*) under the
 * request's {@code request_id}: this runner cannot add headers to a response it lets through.</li>
 * <li>{@link #postFilter} (ext-plugin-post-resp): APISIX applies only the headers this reply
 * carries, so it sends every upstream header again (Content-Type and repeated names included), the
 * kept headers, and for {@code identity: "upstream"} the login cookie.</li>
 * </ul>
 *
 * <p>Configs are parsed once per distinct text (at PrepareConf through {@link A6ConfigWatcher},
 * where errors are logged with the field name); a bad config answers 503.
 */
@Component
public class SessionPluginFilter implements PluginFilter, A6ConfigWatcher, DisposableBean {

    public static final String NAME = "session";
    static final String REQUEST_ID = "request_id";
    /**
     * Asked in every response phase: only an empty upstream body needs them (PostRespReply), and
     * this runner cannot ask later.
     */
    static final List<String> EMPTY_BODY_VARS = List.of("request_method", "server_protocol");

    private static final Logger LOG = LoggerFactory.getLogger(SessionPluginFilter.class);
    private static final byte[] BAD_CONFIG = "{\"message\":\"session: invalid route config\"}"
            .getBytes(StandardCharsets.UTF_8);

    private final SessionEngine engine;
    private final SessionConfigParser parser;
    private final Cache<String, Prepared> routes;
    private final DeferredHeaders deferred;
    private final AtomicBoolean warnedUncaptured = new AtomicBoolean();
    /** Variables the routes prepared so far need, per phase (the runner cannot fetch on demand). */
    private final Set<String> requestVars = new CopyOnWriteArraySet<>(List.of(REQUEST_ID, RunnerRequestView.COOKIE_VAR));
    private final Set<String> responseVars = new CopyOnWriteArraySet<>(responseVars());

    /** A config text made ready, or why it cannot be used. */
    private record Prepared(SessionRoute route, ConfigException error) {
    }

    /** System clock and environment, storages found with {@link ServiceLoader} next to this class. */
    public SessionPluginFilter() {
        this(Clock.systemUTC(), discover(StorageContext.system()));
    }

    public SessionPluginFilter(Clock clock, SessionStorages storages) {
        this.engine = new SessionEngine(clock, storages);
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        this.parser = new SessionConfigParser(storages.context().environment(), storages.names(),
                Base64.getEncoder().encodeToString(random));
        this.routes = Caffeine.newBuilder().maximumSize(10_000).executor(Runnable::run).build();
        this.deferred = new DeferredHeaders(clock, Duration.ofSeconds(120), 100_000);
    }

    private static List<String> responseVars() {
        List<String> vars = new ArrayList<>(EMPTY_BODY_VARS);
        vars.add(0, REQUEST_ID);
        return vars;
    }

    static SessionStorages discover(StorageContext context) {
        List<SessionStorageProvider> found = new ArrayList<>();
        ServiceLoader.load(SessionStorageProvider.class, SessionPluginFilter.class.getClassLoader())
                .forEach(found::add);
        return new SessionStorages(found, context);
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * The runner fetches these before every call of a chain holding this filter, whatever the
     * route: the variables any route prepared so far may need. With the capture in place the phase
     * is known, and the response half asks only for its own ({@code request_id}, plus the token for
     * {@code failure_limit}).
     */
    @Override
    public List<String> requiredVars() {
        RunnerPhase phase = RunnerPhase.current();
        if (phase == RunnerPhase.RESPONSE) {
            return List.copyOf(responseVars);
        }
        if (phase == RunnerPhase.REQUEST) {
            return List.copyOf(requestVars);
        }
        Set<String> all = new java.util.LinkedHashSet<>(requestVars);
        all.addAll(responseVars);
        return List.copyOf(all);
    }

    /** The variables the engine may ask for on a route with this config. */
    static void variablesOf(SessionConfig config, Set<String> request, Set<String> response) {
        request.add(REQUEST_ID);
        request.add(RunnerRequestView.COOKIE_VAR);
        if (config.identity() == Identity.APISIX) {
            request.add("consumer_name");
            request.add("consumer_group_id");
        }
        if (config.bind().contains(SessionConfig.Bind.SCHEME)) {
            request.add("scheme");
        }
        response.add(REQUEST_ID);
        // a response-phase save binds the facts the engine asks for there (the request phase has
        // the address in src_ip and the User-Agent in its headers)
        if (config.bind().contains(SessionConfig.Bind.IP)) {
            response.add("remote_addr");
        }
        if (config.bind().contains(SessionConfig.Bind.SCHEME)) {
            response.add("scheme");
        }
        if (config.bind().contains(SessionConfig.Bind.USER_AGENT)) {
            response.add("http_user_agent");
        }
        if (config.failureLimit().enabled()) {
            // cookie_<name> of the token and its chunks are read from $http_cookie
            response.add(RunnerRequestView.COOKIE_VAR);
            String name = config.tokenName();
            switch (config.lookup().source()) {
                case HEADER -> response.add("http_" + name.toLowerCase(Locale.ROOT).replace('-', '_'));
                case QUERY -> response.add("arg_" + name);
                default -> { }
            }
        }
    }

    @Override
    public Boolean requiredBody() {
        return false;
    }

    /**
     * The upstream body, in the response phase, when the upstream gave no Content-Length: a
     * post-resp reply must state the body's length (see {@link PostRespReply}). The runner would ask
     * for it in every call of a chain holding this filter, request phase included; the capture tells
     * the phase and the upstream's headers. Without the capture, never.
     */
    @Override
    public Boolean requiredRespBody() {
        UpstreamCapture.Captured upstream = UpstreamCapture.starting();
        return RunnerPhase.current() == RunnerPhase.RESPONSE
                && (upstream == null || PostRespReply.lengthUnknown(upstream.headers()));
    }

    /** PrepareConf: parse now, so a bad config is logged when APISIX sends it. */
    @Override
    public void watch(long confToken, A6Conf conf) {
        String value = conf.get(NAME);
        if (value != null) {
            prepared(value);
        }
    }

    // ---------------------------------------------------------------- request half

    @Override
    public void filter(HttpRequest request, HttpResponse response, PluginFilterChain chain) {
        Prepared prepared = prepared(request.getConfig(this));
        if (prepared.error() != null) {
            stop(response, 503, List.of(new HttpHeader("Content-Type", "application/json")), BAD_CONFIG);
            return;
        }
        RequestDecision decision;
        try {
            decision = engine.onRequest(prepared.route(), new RunnerRequestView(request));
        } catch (GatewayException e) {
            LOG.warn("session: request {}: {}", request.getRequestId(), e.getMessage());
            stop(response, 503, List.of(), new byte[0]);
            return;
        }
        if (decision instanceof RequestDecision.Respond respond) {
            // the chain ends here: a later filter's request change would turn this Stop into a Rewrite
            stop(response, respond.status(), respond.headers(), respond.body());
            return;
        }
        RequestDecision.Proceed proceed = (RequestDecision.Proceed) decision;
        Map<String, String> changes = new LinkedHashMap<>();
        for (HttpHeader h : proceed.requestHeaders()) {
            changes.put(h.name().toLowerCase(Locale.ROOT), h.value());
        }
        changes.forEach(request::setHeader);
        deferred.put(RunnerVars.decode(request.getVars(REQUEST_ID)), proceed.responseHeaders());
        chain.filter(request, response);
    }

    private static void stop(HttpResponse response, int status, List<HttpHeader> headers, byte[] body) {
        response.setStatusCode(status);
        HeaderFields.write(headers, response::setHeader);
        if (body.length > 0) {
            response.setBody(new String(body, StandardCharsets.UTF_8));
        }
    }

    // ---------------------------------------------------------------- response half

    @Override
    public void postFilter(PostRequest request, PostResponse response, PluginFilterChain chain) {
        UpstreamCapture.Captured upstream = UpstreamCapture.take(request);
        Prepared prepared = prepared(request.getConfig(this));
        List<HttpHeader> kept = deferred.take(RunnerVars.decode(request.getVars(REQUEST_ID)));
        if (prepared.error() != null) {
            response.setStatusCode(503);
            HeaderFields.write(List.of(new HttpHeader("Content-Type", "application/json")), response::setHeader);
            response.setBody(new String(BAD_CONFIG, StandardCharsets.UTF_8));
            return;
        }
        if (upstream == null) {
            // Without the capture the upstream's headers cannot be read once variables were fetched:
            // send what the request half decided; APISIX then drops the upstream's headers.
            if (warnedUncaptured.compareAndSet(false, true)) {
                LOG.warn("session: upstream headers not captured (apisix-session.runner-fix is off or not "
                        + "applicable): responses that set cookies lose the upstream's headers, and "
                        + "identity \"upstream\" logins do not work");
            }
            HeaderFields.write(kept, response::setHeader);
            chain.postFilter(request, response);
            return;
        }
        ResponseDecision decision;
        try {
            decision = engine.onResponse(prepared.route(), new RunnerResponseView(request, upstream));
        } catch (GatewayException e) {
            LOG.warn("session: response {}: {}", request.getRequestId(), e.getMessage());
            decision = new ResponseDecision(0, upstream.headers());
        } catch (RuntimeException e) {
            // the runner would answer an error frame, and APISIX print the upstream body under a
            // 503 and call the upstream again for an HTTP/1.0 client
            LOG.error("session: response {}: {}: {}", request.getRequestId(), e.getClass().getName(), e.getMessage());
            send(response, PostRespReply.pluginFailed(), request);
            return;
        }
        if (decision.body() != null) {
            // the engine answers in place of the upstream (a failure it reports): exactly that
            send(response, new PostRespReply.Reply(decision.status(),
                    FramingHeaders.strip(upstream.headers(), decision.headers()), decision.body()), request);
            chain.postFilter(request, response);
            return;
        }
        List<HttpHeader> out = merge(upstream.headers(), decision.headers(), kept);
        PostRespReply.Reply reply = new PostRespReply.Reply(decision.status(), out, new byte[0]);
        PostRespReply.Variables vars = name -> RunnerVars.decode(request.getVars(name));
        try {
            if (request.getBody() != null) {
                reply = PostRespReply.complete(decision.status(), out, upstream.status(), upstream.headers(),
                        RunnerVars.bytes(request.getBody()), PostRespReply.Carry.LENGTH, vars);
            } else if (!PostRespReply.lengthUnknown(upstream.headers())) {
                reply = PostRespReply.unfetched(decision.status(), out, upstream.status(), upstream.headers(),
                        PostRespReply.Carry.LENGTH, vars);
            }
        } catch (GatewayException e) {
            throw new IllegalStateException("the variables were fetched already", e);
        }
        send(response, reply, request);
        chain.postFilter(request, response);
    }

    private static void send(PostResponse response, PostRespReply.Reply reply, PostRequest request) {
        if (reply.status() != 0) {
            response.setStatusCode(reply.status());
        }
        int dropped = HeaderFields.write(reply.headers(), response::setHeader);
        if (dropped > 0) {
            LOG.warn("session: response {}: {} header field(s) of one name could not be sent", request.getRequestId(),
                    dropped);
        }
        if (reply.body().length > 0) {
            response.setBody(new String(reply.body(), StandardCharsets.UTF_8));
        }
    }

    /**
     * The reply's full header list: the engine's (the upstream's minus {@code X-Session-*}, plus a
     * login's cookies or cookies it kept itself), then the request half's headers, unless the
     * engine started a new session here (a login cookie the request half did not decide), which
     * supersedes them. Hop-by-hop fields and Content-Length are left to nginx ({@link FramingHeaders}).
     */
    static List<HttpHeader> merge(List<HttpHeader> upstream, List<HttpHeader> decided, List<HttpHeader> kept) {
        List<HttpHeader> added = new ArrayList<>();
        for (HttpHeader h : decided) {
            if (!contains(upstream, h)) {
                added.add(h);
            }
        }
        boolean replaced = false;
        for (HttpHeader h : added) {
            replaced |= h.is("Set-Cookie") && !contains(kept, h);
        }
        List<HttpHeader> out = new ArrayList<>(decided.size() + kept.size());
        for (HttpHeader h : FramingHeaders.strip(upstream, decided)) {
            out.add(h.value() == null ? new HttpHeader(h.name(), "") : h);
        }
        if (!replaced) {
            for (HttpHeader h : kept) {
                if (!contains(added, h)) {
                    out.add(h);
                }
            }
        }
        return out;
    }

    private static boolean contains(List<HttpHeader> list, HttpHeader h) {
        for (HttpHeader e : list) {
            if (e.is(h.name()) && java.util.Objects.equals(e.value(), h.value())) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- configs

    private Prepared prepared(String value) {
        if (value == null) {
            return new Prepared(null, new ConfigException("session", "no config for this filter"));
        }
        return routes.get(value, this::prepare);
    }

    private Prepared prepare(String value) {
        try {
            SessionConfig config = parser.parse(value);
            if (config.logout().readBody()) {
                throw new ConfigException("read_body_for_logout", "not supported on apisix-java-plugin-runner "
                        + "(a filter there cannot read the body of some requests only); use logout_query_arg");
            }
            SessionRoute route = engine.prepare(config);
            variablesOf(config, requestVars, responseVars);
            return new Prepared(route, null);
        } catch (ConfigException e) {
            LOG.error("conf: {}: {}", NAME, e.getMessage());
            return new Prepared(null, e);
        }
    }

    /** Headers the request half decided that no response half took (tests, monitoring). */
    long undeliveredResponses() {
        deferred.cleanUp();
        return deferred.lost();
    }

    @Override
    public void destroy() {
        engine.close();
    }
}
