package io.github.apisixsession.hostile;

import static io.github.apisixsession.hostile.HostileEngine.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.hostile.HostileRun.Outcome;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Random configs (only ConfigException, whose message never quotes the secret), random Cookie
 * headers (the parser never throws and stays bounded), and forged identity headers, query
 * arguments and methods (identity headers a client sends never reach the upstream).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigAndHeaderPropertiesTest {

    static final String MARKER = "S3CR3T-MARKER-9f8e7d6c5b4a";
    static final List<String> KEYS = List.of("secret", "secret_fallbacks", "random_secret", "storage", "memory",
            "redis", "postgres", "hash_storage_key", "store_metadata", "storage_error_status", "audience",
            "idling_timeout", "rolling_timeout", "absolute_timeout", "remember", "remember_cookie_name",
            "remember_rolling_timeout", "remember_absolute_timeout", "remember_safety", "cookie_name", "cookie_path",
            "cookie_domain", "cookie_same_site", "cookie_http_only", "cookie_secure", "cookie_priority",
            "cookie_partitioned", "map_headers", "request_headers", "response_headers", "identity",
            "anonymous_consumer", "reject_status", "logout_methods", "logout_query_arg", "logout_post_arg",
            "read_body_for_logout", "logout_all_query_arg", "compression_threshold", "touch_threshold", "bind",
            "failure_limit", "failure_status", "key_lookup", "stale_ttl", "hash_subject", "cookie_lifetime",
            "cookie_idletime", "cookie_renew", "cookie_samesite", "cookie_httponly", "cookie_discard",
            "cookie_persistent", "cookie_session_only", "forward_session", "sticky_cookie_name", "unknown_key",
            "", "\u0000", "secret ");
    static final List<String> WORDS = List.of("$env://NOT_SET", "$env://", "cookie", "memory", "kong",
            "redis", "postgres", "Strict", "Lax", "None", "Default", "High", "None", "Low", "Very High", "apisix",
            "upstream", "none", "GET", "POST", "DELETE", "id", "subject", "audience", "ip", "scheme", "user_agent",
            "-1", "0", "1e309", "NaN", "__Host-x", "__Secure-", "session", "a;b", "a\r\nb", "\u00e9", "");
    // MARKER appears only as a secret: an error message that contains it quotes a secret.
    static final ObjectMapper JSON = new ObjectMapper();

    private final HostileEngine h = new HostileEngine();

    @AfterAll
    void close() {
        h.close();
    }

    static Object value(Random r, int depth) {
        switch (r.nextInt(depth > 2 ? 6 : 9)) {
            case 0: return WORDS.get(r.nextInt(WORDS.size()));
            case 1: return r.nextInt(5) == 0 ? (long) r.nextInt() : (long) r.nextInt(200_000) - 100;
            case 2: return r.nextBoolean();
            case 3: return null;
            case 4: return r.nextDouble() * Math.pow(10, r.nextInt(30) - 5) * (r.nextBoolean() ? 1 : -1);
            case 5: return Strings.any(r, r.nextInt(40));
            case 6: {
                List<Object> l = new ArrayList<>();
                for (int i = r.nextInt(5); i > 0; i--) {
                    l.add(value(r, depth + 1));
                }
                return l;
            }
            default: return object(r, depth + 1);
        }
    }

    static Map<String, Object> object(Random r, int depth) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (r.nextInt(4) != 0) {
            m.put("secret", r.nextInt(3) == 0 ? value(r, depth) : MARKER + "-long-enough-0123456789");
        }
        if (r.nextInt(4) == 0) {
            m.put("secret_fallbacks", r.nextBoolean() ? List.of(MARKER + "-old-fallback-0123456789") : MARKER);
        }
        for (int i = r.nextInt(6); i > 0; i--) {
            m.put(r.nextInt(8) == 0 ? Strings.any(r, 8) : KEYS.get(r.nextInt(KEYS.size())), value(r, depth));
        }
        return m;
    }

    @Test
    void randomConfigsOnlyRaiseConfigExceptionWithoutTheSecret() {
        HostileRun.run("config-parser", r -> {
            int k = r.nextInt(10);
            try {
                String json = JSON.writeValueAsString(object(r, 0));
                if (k == 0) {
                    return Strings.any(r, r.nextInt(100));
                } else if (k == 1 && !json.isEmpty()) {
                    int cut = r.nextInt(json.length());
                    return json.substring(0, cut) + Strings.any(r, r.nextInt(4));   // broken JSON
                } else if (k == 2) {
                    return JSON.writeValueAsString(value(r, 0));                     // not an object
                }
                return json;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, json -> {
            try {
                SessionConfig config = h.parser.parse(json);
                if ("cookie".equals(storageOf(json))) {
                    h.engine.prepare(config);
                }
                return Outcome.ACCEPTED_SAME;
            } catch (ConfigException e) {
                if (String.valueOf(e.getMessage()).contains(MARKER)) {
                    return Outcome.FORGERY; // a secret quoted in an error message
                }
                return Outcome.REJECTED;
            }
        });
    }

    private static String storageOf(String json) {
        try {
            Object s = JSON.readValue(json, Map.class).get("storage");
            return s == null ? "cookie" : String.valueOf(s);
        } catch (Exception e) {
            return "?";
        }
    }

    @Test
    void cookieHeaderParserNeverThrowsAndStaysBounded() throws Exception {
        Class<?> cookies = Class.forName("io.github.apisixsession.core.http.Cookies");
        Method parse = cookies.getDeclaredMethod("parse", List.class);
        parse.setAccessible(true);
        String alphabet = "ab=; \"\t,session2=\u0000\u00e9";
        HostileRun.run("cookie-header-parser", r -> {
            List<String> headers = new ArrayList<>();
            for (int i = r.nextInt(4); i >= 0; i--) {
                headers.add(r.nextInt(10) == 0 ? Strings.any(r, r.nextInt(100))
                        : r.nextInt(20) == 0 ? "a=b; ".repeat(r.nextInt(2000)) : Strings.of(r, alphabet, r.nextInt(300)));
            }
            return headers;
        }, headers -> {
            Map<?, ?> out;
            try {
                out = (Map<?, ?>) parse.invoke(null, headers);
            } catch (InvocationTargetException e) {
                throw (Exception) e.getCause();
            }
            if (out.size() > 256) {
                throw new AssertionError("unbounded: " + out.size());
            }
            for (Map.Entry<?, ?> e : out.entrySet()) {
                String n = (String) e.getKey();
                String v = (String) e.getValue();
                if (n.isEmpty() || n.contains(";") || n.contains("=") || v.contains(";")) {
                    throw new AssertionError("bad pair " + n + "=" + v);
                }
            }
            return Outcome.REJECTED;
        });
    }

    /** The headers the upstream trusts (SessionEngine.IDENTITY_HEADERS). */
    static final List<String> IDENTITY = List.of(SessionEngine.CONSUMER_USERNAME, SessionEngine.CREDENTIAL_IDENTIFIER,
            SessionEngine.CONSUMER_GROUPS, SessionEngine.CONSUMER_CUSTOM_ID);

    @Test
    void forgedIdentityHeadersQueryAndMethodsNeverReachTheUpstream() throws Exception {
        SessionRoute open = h.engine.prepare(h.parser.parse("{\"secret\":\"" + SECRET
                + "\",\"cookie_secure\":false,\"audience\":\"a\"}"));
        SessionRoute rejecting = h.route(SECRET, "\"audience\":\"a\"");
        List<String> methods = List.of("GET", "POST", "DELETE", "PUT", "get", "OPTIONS", "", "POST\r\n");
        List<String> args = List.of("session_logout", "session_logout_all", "session", "x", "");
        HostileRun.run("forged-headers", r -> {
            HostileRequest q = new HostileRequest(methods.get(r.nextInt(methods.size())), "/" + Strings.any(r, 5));
            for (int i = r.nextInt(6); i >= 0; i--) {
                String name = IDENTITY.get(r.nextInt(IDENTITY.size()));
                if (r.nextBoolean()) {
                    name = name.toLowerCase(java.util.Locale.ROOT);
                }
                q.header(name, r.nextInt(3) == 0 ? Strings.any(r, 20) : "admin");
            }
            for (int i = r.nextInt(3); i > 0; i--) {
                q.arg(args.get(r.nextInt(args.size())), Strings.any(r, r.nextInt(10)));
            }
            if (r.nextInt(3) == 0) {
                q.variables.put("alice", "yes"); // a fresh session of alice: a logout may revoke it
            }
            if (r.nextInt(4) == 0) {
                q.consumer(r.nextBoolean() ? "bob" : "");
            }
            q.variables.put("route", String.valueOf(r.nextBoolean()));
            return q;
        }, q -> {
            SessionRoute route = Boolean.parseBoolean(q.variables.get("route")) ? rejecting : open;
            boolean hasSession = q.variables.remove("alice") != null;
            if (hasSession) {
                q.cookie(HostileEngine.cookieHeader(h.engine.onRequest(open, HostileRequest.get().consumer("alice"))));
            }
            String consumer = q.variables.getOrDefault("consumer_name", "");
            String expected = !consumer.isEmpty() ? consumer : hasSession ? "alice" : null;
            RequestDecision d = h.engine.onRequest(route, q);
            if (d instanceof RequestDecision.Respond resp) {
                // 401 without identity, or 200 for a logout; never another status
                if (resp.status() == 401 && expected == null || resp.status() == 200) {
                    return Outcome.REJECTED;
                }
                throw new AssertionError("status " + resp.status() + " expected subject " + expected);
            }
            RequestDecision.Proceed p = (RequestDecision.Proceed) d;
            for (HttpHeader sent : q.headers) {
                boolean stripped = false;
                for (HttpHeader c : p.requestHeaders()) {
                    if (c.is(sent.name())) {
                        if (!c.isRemoval() && !(sent.name().equalsIgnoreCase(SessionEngine.CONSUMER_USERNAME)
                                && c.value().equals(expected))) {
                            throw new AssertionError("forwarded " + c + ", expected subject " + expected + " in "
                                    + p.requestHeaders()); // a forged value survived
                        }
                        stripped = true;
                    }
                }
                // with a real consumer APISIX (3.11+) itself sets these two (docs/configuration.md)
                boolean setByApisix = !consumer.isEmpty() && (sent.is(SessionEngine.CREDENTIAL_IDENTIFIER)
                        || sent.is(SessionEngine.CONSUMER_CUSTOM_ID));
                if (!stripped && !sent.is("Cookie") && !setByApisix) {
                    throw new AssertionError("not stripped: " + sent + " in " + p.requestHeaders());
                }
            }
            assertEquals(expected, HostileEngine.subject(d));
            return Outcome.REJECTED;
        });
    }
}
