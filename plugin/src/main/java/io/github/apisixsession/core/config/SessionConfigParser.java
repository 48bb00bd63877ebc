package io.github.apisixsession.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.config.SessionConfig.Bind;
import io.github.apisixsession.core.config.SessionConfig.FailureLimit;
import io.github.apisixsession.core.config.SessionConfig.StatusRange;
import io.github.apisixsession.core.config.SessionConfig.TokenLookup;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import static io.github.apisixsession.core.config.ConfigFields.enumSet;
import static io.github.apisixsession.core.config.ConfigFields.isToken;
import static io.github.apisixsession.core.config.ConfigFields.nonEmpty;
import static io.github.apisixsession.core.config.ConfigFields.optionalNonEmpty;
import static io.github.apisixsession.core.config.ConfigFields.printable;
import static io.github.apisixsession.core.config.ConfigFields.seconds;
import static io.github.apisixsession.core.config.ConfigFields.upperSet;

/**
 * Turns a route's {@code session} conf value (a JSON object) into a {@link SessionConfig}, with
 * Kong's names, defaults and deprecated aliases. Every problem is a {@link ConfigException} naming
 * the field; values are never echoed because they may be secrets.
 */
public final class SessionConfigParser {

    private static final Logger LOG = LoggerFactory.getLogger(SessionConfigParser.class);

    private static final int MAX_CONFIG_CHARS = 1 << 20;

    /** Kong's {@code storage: "kong"}: the server-side storage used when none is configured. */
    static final String KONG_STORAGE = "kong";
    private static final String DEFAULT_SERVER_STORAGE = "memory";

    private static final Set<String> LOGOUT_METHODS = Set.of("GET", "POST", "DELETE");
    private static final Set<String> SESSION_HEADERS = Set.of("id", "audience", "subject", "timeout",
            "idling-timeout", "rolling-timeout", "absolute-timeout");
    private static final Map<String, Bind> BINDS = Map.of("ip", Bind.IP, "scheme", Bind.SCHEME,
            "user-agent", Bind.USER_AGENT, "user_agent", Bind.USER_AGENT);

    private static final Set<String> KNOWN = Set.of(
            "secret", "secret_fallbacks", "random_secret", "storage", "audience",
            "idling_timeout", "rolling_timeout", "absolute_timeout", "stale_ttl", "touch_threshold",
            "compression_threshold", "cookie_name", "cookie_path", "cookie_domain", "cookie_same_site",
            "cookie_priority", "cookie_partitioned", "cookie_http_only", "cookie_secure", "cookie_session_only",
            "remember", "remember_cookie_name", "remember_rolling_timeout", "remember_absolute_timeout",
            "remember_safety",
            "logout_methods", "logout_query_arg", "logout_post_arg", "read_body_for_logout", "logout_all_query_arg",
            "hash_storage_key", "hash_subject", "store_metadata", "bind", "request_headers", "response_headers",
            "key_lookup", "forward_session", "map_headers", "sticky_cookie_name",
            "failure_limit", "failure_status",
            "identity", "anonymous_consumer", "reject_status", "storage_error_status", "shared_state");

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).build());
    }

    private final Function<String, String> environment;
    private final Set<String> storageNames;
    private final String processSecret;

    /**
     * @param environment   resolves {@code $env://NAME}
     * @param storageNames  names of the storage providers found (besides {@code cookie})
     * @param processSecret the per-process random secret used by routes with {@code random_secret}
     */
    public SessionConfigParser(Function<String, String> environment, Set<String> storageNames, String processSecret) {
        this.environment = environment;
        this.storageNames = Set.copyOf(storageNames);
        this.processSecret = processSecret;
    }

    public SessionConfig parse(String json) throws ConfigException {
        if (json == null || json.isBlank()) {
            throw new ConfigException("session", "the conf value must be a JSON object, e.g. {\"secret\": \"…\"}");
        }
        if (json.length() > MAX_CONFIG_CHARS) {
            throw new ConfigException("session", "the conf value is larger than " + MAX_CONFIG_CHARS + " characters");
        }
        Map<String, Object> map;
        try {
            Object parsed = JSON.readValue(json, Object.class);
            if (!(parsed instanceof Map<?, ?>)) {
                throw new ConfigException("session", "the conf value must be a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) parsed;
            map = m;
        } catch (JsonProcessingException e) {
            // Jackson's message can quote the input, which may hold the secret: keep only the position.
            // A limit of StreamReadConstraints (nesting depth …) comes without a location.
            JsonLocation at = e.getLocation();
            throw new ConfigException("session", e instanceof StreamConstraintsException
                    ? "invalid JSON: beyond the parser's limits (nesting depth, number or string length)"
                    : at == null ? "invalid JSON"
                    : "invalid JSON at line " + at.getLineNr() + ", column " + at.getColumnNr());
        }
        try {
            return parse(StorageConfig.of("", KongAliases.replace(map)));
        } catch (StorageConfigException e) {
            throw new ConfigException(e.field(), e.getMessage().substring(e.field().length() + 2));
        }
    }

    private SessionConfig parse(StorageConfig c) throws ConfigException {
        for (String key : c.keys()) {
            if (!KNOWN.contains(key) && !storageNames.contains(key)) {
                Set<String> allowed = new TreeSet<>(KNOWN);
                allowed.addAll(storageNames);
                throw new ConfigException(key, "unknown field; allowed: " + allowed);
            }
        }

        List<byte[]> ikms = ikms(c);

        String storage = storage(c);
        StorageConfig storageConfig = SessionConfig.COOKIE_STORAGE.equals(storage)
                ? StorageConfig.empty(storage) : c.getObject(storage);

        String audience = nonEmpty(c, "audience", "default");
        SessionConfig.Timeouts timeouts = new SessionConfig.Timeouts(seconds(c, "idling_timeout", 900),
                seconds(c, "rolling_timeout", 3600), seconds(c, "absolute_timeout", 86400),
                seconds(c, "stale_ttl", 10), seconds(c, "touch_threshold", 60));
        int compressionThreshold = c.getInt("compression_threshold", 1024, 0, Integer.MAX_VALUE);

        TokenLookup lookup = CookieOptions.lookup(c);
        SessionConfig.Cookie cookie = CookieOptions.cookie(c);
        SessionConfig.Remember remember = CookieOptions.remember(c, lookup);

        Set<String> logoutMethods = upperSet(c, "logout_methods", List.of("POST", "DELETE"), LOGOUT_METHODS);
        SessionConfig.Logout logout = new SessionConfig.Logout(logoutMethods,
                nonEmpty(c, "logout_query_arg", "session_logout"), nonEmpty(c, "logout_post_arg", "session_logout"),
                c.getBoolean("read_body_for_logout", false), optionalNonEmpty(c, "logout_all_query_arg"));

        boolean storeMetadata = c.getBoolean("store_metadata", false);
        SessionConfig.SharedState sharedState = SharedStateOptions.parse(c, storage, storageNames);

        Set<Bind> bind = new LinkedHashSet<>();
        for (String b : c.getStringList("bind")) {
            Bind value = BINDS.get(b);
            if (value == null) {
                throw new ConfigException("bind", "values must be among [ip, scheme, user-agent]");
            }
            bind.add(value);
        }

        Identity identity = Identity.fromConfig(c.getString("identity", Identity.APISIX.configName()));
        if (identity == null) {
            throw new ConfigException("identity", "must be one of [apisix, none, upstream]");
        }
        int rejectStatus = c.has("reject_status") ? c.getInt("reject_status", 0, 400, 599) : 0;

        String sticky = CookieOptions.stickyCookieName(c, lookup, remember);

        return new SessionConfig(ikms, storage, storageConfig, audience, timeouts, compressionThreshold, cookie,
                remember, logout, lookup, c.getBoolean("forward_session", true),
                c.getBoolean("hash_storage_key", false), c.getBoolean("hash_subject", false), storeMetadata, bind,
                enumSet(c, "request_headers", SESSION_HEADERS), enumSet(c, "response_headers", SESSION_HEADERS),
                mapHeaders(c), identity, optionalNonEmpty(c, "anonymous_consumer"), rejectStatus,
                c.getInt("storage_error_status", 503, 400, 599), failureLimit(c), sticky, sharedState);
    }

    private List<byte[]> ikms(StorageConfig c) throws ConfigException {
        boolean randomSecret = c.getBoolean("random_secret", false);
        String secret = c.getSecret("secret", null, environment);
        if (secret == null) {
            if (!randomSecret) {
                throw new ConfigException("secret", "is required (or set \"random_secret\": true for a "
                        + "per-process random secret, which breaks sessions across runners and restarts)");
            }
            secret = processSecret;
        } else if (secret.isEmpty()) {
            throw new ConfigException("secret", "must not be empty");
        } else if (secret.length() < 32) {
            LOG.warn("session config: secret is shorter than 32 characters; use a long random value");
        }
        List<byte[]> ikms = new ArrayList<>();
        ikms.add(SessionCodec.ikmOf(secret));
        List<String> fallbacks = c.getStringList("secret_fallbacks");
        for (int i = 0; i < fallbacks.size(); i++) {
            String field = "secret_fallbacks[" + i + "]";
            String resolved = StorageConfig.of("", Map.of(field, fallbacks.get(i))).getSecret(field, null, environment);
            if (resolved == null || resolved.isEmpty()) {
                throw new ConfigException(field, "must not be empty");
            }
            ikms.add(SessionCodec.ikmOf(resolved));
        }
        return ikms;
    }

    private String storage(StorageConfig c) throws ConfigException {
        String storage = c.getString("storage", SessionConfig.COOKIE_STORAGE);
        if (KONG_STORAGE.equals(storage)) {
            // Kong's "kong" storage is its database; here it names the server-side storage whose
            // settings the route carries, or the embedded memory storage.
            List<String> configured = storageNames.stream().filter(c::has).sorted().toList();
            if (configured.size() > 1) {
                throw new ConfigException("storage", "\"kong\" is ambiguous with settings for " + configured
                        + "; name the storage");
            }
            storage = configured.isEmpty() ? DEFAULT_SERVER_STORAGE : configured.get(0);
            LOG.info("session config: storage \"kong\" is served by the {} storage", storage);
        }
        if (!SessionConfig.COOKIE_STORAGE.equals(storage) && !storageNames.contains(storage)) {
            Set<String> names = new TreeSet<>(storageNames);
            names.add(SessionConfig.COOKIE_STORAGE);
            names.add(KONG_STORAGE);
            throw new ConfigException("storage", "unknown storage \"" + printable(storage) + "\"; available: " + names);
        }
        return storage;
    }

    private static Map<String, String> mapHeaders(StorageConfig c) throws ConfigException {
        StorageConfig map = c.getObject("map_headers");
        Map<String, String> out = new LinkedHashMap<>();
        for (String header : map.keys()) {
            if (!isToken(header)) {
                throw new ConfigException(map.field(header), "is not a valid header name");
            }
            String source = map.getString(header, null);
            if (source == null || source.isEmpty()) {
                throw new ConfigException(map.field(header), "must name a session value (e.g. \"subject\", \"user_id\")");
            }
            out.put(header, source);
        }
        return out;
    }

    private static FailureLimit failureLimit(StorageConfig c) throws ConfigException {
        int limit = c.getInt("failure_limit", 0, 0, 1_000_000);
        List<StatusRange> ranges = new ArrayList<>();
        Object raw = c.raw("failure_status");
        if (raw == null) {
            ranges.add(new StatusRange(500, 599));
        } else if (!(raw instanceof List<?> list) || list.isEmpty()) {
            throw new ConfigException("failure_status", "must be a non-empty array of statuses (500) or classes (\"5xx\")");
        } else {
            for (Object o : list) {
                if (o instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())
                        && n.intValue() >= 100 && n.intValue() <= 599) {
                    ranges.add(new StatusRange(n.intValue(), n.intValue()));
                } else if (o instanceof String s && s.matches("[1-5]xx")) {
                    int base = (s.charAt(0) - '0') * 100;
                    ranges.add(new StatusRange(base, base + 99));
                } else {
                    throw new ConfigException("failure_status", "entries must be statuses 100-599 or classes like \"5xx\"");
                }
            }
        }
        return limit == 0 ? FailureLimit.OFF : new FailureLimit(limit, ranges);
    }
}
