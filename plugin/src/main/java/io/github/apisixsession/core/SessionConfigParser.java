package io.github.apisixsession.core;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.apisixsession.core.SessionConfig.Bind;
import io.github.apisixsession.core.SessionConfig.FailureLimit;
import io.github.apisixsession.core.SessionConfig.StatusRange;
import io.github.apisixsession.core.SessionConfig.TokenLookup;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Turns a route's {@code session} conf value (a JSON object) into a {@link SessionConfig}, with
 * Kong's names, defaults and deprecated aliases. Every problem is a {@link ConfigException} naming
 * the field; values are never echoed because they may be secrets.
 */
public final class SessionConfigParser {

    private static final Logger LOG = LoggerFactory.getLogger(SessionConfigParser.class);

    /** lua-resty-session caps storage TTLs and cookie lifetimes at 400 days. */
    static final long MAX_SECONDS = 34_560_000L;
    private static final int MAX_CONFIG_CHARS = 1 << 20;

    /** Kong's {@code storage: "kong"}: the server-side storage used when none is configured. */
    static final String KONG_STORAGE = "kong";
    private static final String DEFAULT_SERVER_STORAGE = "memory";

    private static final Set<String> SAME_SITE = Set.of("Strict", "Lax", "None", "Default");
    private static final Set<String> PRIORITY = Set.of("Low", "Medium", "High");
    private static final Set<String> LOGOUT_METHODS = Set.of("GET", "POST", "DELETE");
    private static final Set<String> SESSION_HEADERS = Set.of("id", "audience", "subject", "timeout",
            "idling-timeout", "rolling-timeout", "absolute-timeout");
    private static final Map<String, Integer> REMEMBER_SAFETY = Map.of("None", 0, "Low", 1_000,
            "Medium", 10_000, "High", 100_000, "Very High", 1_000_000);
    private static final Map<String, Bind> BINDS = Map.of("ip", Bind.IP, "scheme", Bind.SCHEME,
            "user-agent", Bind.USER_AGENT, "user_agent", Bind.USER_AGENT);

    /** Kong's deprecated shorthand fields, "to be removed in Kong 4.0", and what they map to. */
    private static final Map<String, String> DEPRECATED = Map.of(
            "cookie_lifetime", "rolling_timeout",
            "cookie_idletime", "idling_timeout",
            "cookie_discard", "stale_ttl",
            "cookie_samesite", "cookie_same_site",
            "cookie_httponly", "cookie_http_only",
            "cookie_persistent", "remember",
            "cookie_renew", "");

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
            "identity", "anonymous_consumer", "reject_status", "storage_error_status");

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
            return parse(StorageConfig.of("", replaceDeprecated(map)));
        } catch (StorageConfigException e) {
            throw new ConfigException(e.field(), e.getMessage().substring(e.field().length() + 2));
        }
    }

    /** Kong's shorthand fields become the current ones, with a warning naming both. */
    private static Map<String, Object> replaceDeprecated(Map<String, Object> in) throws ConfigException {
        Map<String, Object> out = new LinkedHashMap<>(in);
        for (Map.Entry<String, String> alias : DEPRECATED.entrySet()) {
            String old = alias.getKey();
            if (!out.containsKey(old)) {
                continue;
            }
            Object value = out.remove(old);
            String current = alias.getValue();
            if (current.isEmpty()) {
                LOG.info("session config: {} is deprecated and ignored", old);
                continue;
            }
            if ("cookie_idletime".equals(old) && value == null) {
                value = 0;
            }
            if ("cookie_samesite".equals(old) && "off".equals(value)) {
                value = "Lax";
            }
            if (out.containsKey(current) && !Objects.equals(out.get(current), value)) {
                throw new ConfigException(old, "deprecated alias of " + current + "; both are set, to different values");
            }
            out.put(current, value);
            LOG.warn("session config: {} is deprecated (Kong removes it in 4.0); use {}", old, current);
        }
        return out;
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

        TokenLookup lookup = lookup(c);
        SessionConfig.Cookie cookie = cookie(c);
        SessionConfig.Remember remember = remember(c, lookup);

        Set<String> logoutMethods = upperSet(c, "logout_methods", List.of("POST", "DELETE"), LOGOUT_METHODS);
        SessionConfig.Logout logout = new SessionConfig.Logout(logoutMethods,
                nonEmpty(c, "logout_query_arg", "session_logout"), nonEmpty(c, "logout_post_arg", "session_logout"),
                c.getBoolean("read_body_for_logout", false), optionalNonEmpty(c, "logout_all_query_arg"));

        boolean storeMetadata = c.getBoolean("store_metadata", false);
        if (logout.allQueryArg() != null && (!storeMetadata || SessionConfig.COOKIE_STORAGE.equals(storage))) {
            throw new ConfigException("logout_all_query_arg",
                    "needs \"store_metadata\": true and a server-side storage (memory, redis, postgres, …)");
        }

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

        String sticky = c.getString("sticky_cookie_name", null);
        if (sticky != null) {
            if (!isToken(sticky)) {
                throw new ConfigException("sticky_cookie_name", "must be a cookie name (letters, digits, !#$%&'*+-.^_`|~)");
            }
            if (sticky.equals(lookup.name()) || sticky.equals(remember.cookieName())) {
                throw new ConfigException("sticky_cookie_name", "must differ from the session and remember cookie names");
            }
        }

        return new SessionConfig(ikms, storage, storageConfig, audience, timeouts, compressionThreshold, cookie,
                remember, logout, lookup, c.getBoolean("forward_session", true),
                c.getBoolean("hash_storage_key", false), c.getBoolean("hash_subject", false), storeMetadata, bind,
                enumSet(c, "request_headers", SESSION_HEADERS), enumSet(c, "response_headers", SESSION_HEADERS),
                mapHeaders(c), identity, optionalNonEmpty(c, "anonymous_consumer"), rejectStatus,
                c.getInt("storage_error_status", 503, 400, 599), failureLimit(c), sticky);
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

    private static TokenLookup lookup(StorageConfig c) throws ConfigException {
        String cookieName = c.getString("cookie_name", "session");
        if (!isToken(cookieName) || cookieName.length() > 64) {
            throw new ConfigException("cookie_name", "must be 1-64 characters of letters, digits and !#$%&'*+-.^_`|~");
        }
        String spec = c.getString("key_lookup", null);
        if (spec == null) {
            return new TokenLookup(TokenLookup.Source.COOKIE, cookieName);
        }
        int colon = spec.indexOf(':');
        String source = colon < 0 ? "" : spec.substring(0, colon);
        String name = colon < 0 ? "" : spec.substring(colon + 1);
        TokenLookup.Source s = switch (source) {
            case "cookie" -> TokenLookup.Source.COOKIE;
            case "header" -> TokenLookup.Source.HEADER;
            case "query" -> TokenLookup.Source.QUERY;
            default -> throw new ConfigException("key_lookup", "must be cookie:<name>, header:<name> or query:<name>");
        };
        if (!isToken(name) || name.length() > 64) {
            throw new ConfigException("key_lookup", "the name after \"" + source + ":\" must be 1-64 token characters");
        }
        if (s == TokenLookup.Source.COOKIE && c.has("cookie_name") && !name.equals(cookieName)) {
            throw new ConfigException("key_lookup", "names cookie \"" + name + "\" but cookie_name is \"" + cookieName + "\"");
        }
        return new TokenLookup(s, name);
    }

    private static SessionConfig.Cookie cookie(StorageConfig c) throws ConfigException {
        String path = c.getString("cookie_path", "/");
        if (!path.startsWith("/") || !isAttributeValue(path)) {
            throw new ConfigException("cookie_path", "must start with / and contain no ';', spaces or control characters");
        }
        String domain = c.getString("cookie_domain", null);
        if (domain != null && !domain.isEmpty() && !isAttributeValue(domain)) {
            throw new ConfigException("cookie_domain", "must contain no ';', spaces or control characters");
        }
        String sameSite = c.getString("cookie_same_site", "Strict");
        if (!SAME_SITE.contains(sameSite)) {
            throw new ConfigException("cookie_same_site", "must be one of " + new TreeSet<>(SAME_SITE));
        }
        String priority = c.getString("cookie_priority", null);
        if (priority != null && !PRIORITY.contains(priority)) {
            throw new ConfigException("cookie_priority", "must be one of " + new TreeSet<>(PRIORITY));
        }
        return new SessionConfig.Cookie(path, domain, sameSite, priority, c.getBoolean("cookie_partitioned", false),
                c.getBoolean("cookie_http_only", true), c.getBoolean("cookie_secure", true),
                c.getBoolean("cookie_session_only", true));
    }

    private static SessionConfig.Remember remember(StorageConfig c, TokenLookup lookup) throws ConfigException {
        boolean enabled = c.getBoolean("remember", false);
        String name = c.getString("remember_cookie_name", "remember");
        if (!isToken(name) || name.length() > 64) {
            throw new ConfigException("remember_cookie_name", "must be 1-64 token characters");
        }
        if (enabled && lookup.source() != TokenLookup.Source.COOKIE) {
            throw new ConfigException("remember", "remember-me needs cookies; key_lookup is " + lookup);
        }
        if (enabled && name.equals(lookup.name())) {
            throw new ConfigException("remember_cookie_name", "must differ from the session cookie name");
        }
        String safety = c.getString("remember_safety", "Medium");
        Integer iterations = REMEMBER_SAFETY.get(safety);
        if (iterations == null) {
            throw new ConfigException("remember_safety", "must be one of " + new TreeSet<>(REMEMBER_SAFETY.keySet()));
        }
        return new SessionConfig.Remember(enabled, name, seconds(c, "remember_rolling_timeout", 604800),
                seconds(c, "remember_absolute_timeout", 2592000), iterations);
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

    private static long seconds(StorageConfig c, String key, long defaultValue) {
        Duration d = c.getSeconds(key, Duration.ofSeconds(defaultValue), Duration.ZERO, Duration.ofSeconds(MAX_SECONDS));
        // lua-resty-session works in whole seconds
        return d.getSeconds();
    }

    private static String nonEmpty(StorageConfig c, String key, String defaultValue) throws ConfigException {
        String v = c.getString(key, defaultValue);
        if (v.isEmpty()) {
            throw new ConfigException(key, "must not be empty");
        }
        return v;
    }

    private static String optionalNonEmpty(StorageConfig c, String key) {
        String v = c.getString(key, null);
        return v == null || v.isEmpty() ? null : v;
    }

    private static Set<String> upperSet(StorageConfig c, String key, List<String> defaults, Set<String> allowed)
            throws ConfigException {
        List<String> values = c.has(key) ? c.getStringList(key) : defaults;
        Set<String> out = new LinkedHashSet<>();
        for (String v : values) {
            String upper = v.toUpperCase(Locale.ROOT);
            if (!allowed.contains(upper)) {
                throw new ConfigException(key, "values must be among " + new TreeSet<>(allowed));
            }
            out.add(upper);
        }
        return out;
    }

    private static Set<String> enumSet(StorageConfig c, String key, Set<String> allowed) throws ConfigException {
        Set<String> out = new LinkedHashSet<>();
        for (String v : c.getStringList(key)) {
            if (!allowed.contains(v)) {
                throw new ConfigException(key, "values must be among " + new TreeSet<>(allowed));
            }
            out.add(v);
        }
        return out;
    }

    /** An RFC 7230 token: what cookie and header names may be. */
    static boolean isToken(String name) {
        if (name == null || name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(ch) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean isAttributeValue(String v) {
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            if (ch <= 0x20 || ch == ';' || ch == 0x7f || ch > 0x7e) {
                return false;
            }
        }
        return true;
    }

    private static String printable(String s) {
        String cut = s.length() > 40 ? s.substring(0, 40) + "…" : s;
        StringBuilder b = new StringBuilder();
        for (char ch : cut.toCharArray()) {
            b.append(ch < 0x20 || ch == 0x7f ? '?' : ch);
        }
        return b.toString();
    }
}
