package io.github.apisixsession.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Turns a route's {@code session} conf value (a JSON object) into a {@link SessionConfig}, with
 * Kong's names and defaults. Every problem is a {@link ConfigException} naming the field; values
 * are never echoed because they may be secrets.
 */
public final class SessionConfigParser {

    private static final Logger LOG = LoggerFactory.getLogger(SessionConfigParser.class);

    /** lua-resty-session caps storage TTLs and cookie lifetimes at 400 days. */
    static final long MAX_SECONDS = 34_560_000L;
    private static final int MAX_CONFIG_CHARS = 1 << 20;

    private static final Set<String> SAME_SITE = Set.of("Strict", "Lax", "None", "Default");
    private static final Set<String> PRIORITY = Set.of("Low", "Medium", "High");
    private static final Set<String> LOGOUT_METHODS = Set.of("GET", "POST", "DELETE");
    private static final Set<String> SESSION_HEADERS = Set.of("id", "audience", "subject", "timeout",
            "idling-timeout", "rolling-timeout", "absolute-timeout");

    private static final Set<String> KNOWN = Set.of(
            "secret", "secret_fallbacks", "random_secret", "storage", "audience",
            "idling_timeout", "rolling_timeout", "absolute_timeout", "stale_ttl", "touch_threshold",
            "compression_threshold", "cookie_name", "cookie_path", "cookie_domain", "cookie_same_site",
            "cookie_priority", "cookie_partitioned", "cookie_http_only", "cookie_secure",
            "remember", "logout_methods", "logout_query_arg", "logout_post_arg", "read_body_for_logout",
            "hash_storage_key", "request_headers", "response_headers",
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
            throw new ConfigException("session", "invalid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr());
        }
        try {
            return parse(StorageConfig.of("", map));
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
            String fallback = resolveSecret(fallbacks.get(i), "secret_fallbacks[" + i + "]");
            ikms.add(SessionCodec.ikmOf(fallback));
        }

        String storage = c.getString("storage", SessionConfig.COOKIE_STORAGE);
        if (!SessionConfig.COOKIE_STORAGE.equals(storage) && !storageNames.contains(storage)) {
            Set<String> names = new TreeSet<>(storageNames);
            names.add(SessionConfig.COOKIE_STORAGE);
            throw new ConfigException("storage", "unknown storage \"" + printable(storage) + "\"; available: " + names);
        }
        StorageConfig storageConfig = SessionConfig.COOKIE_STORAGE.equals(storage)
                ? StorageConfig.empty(storage) : c.getObject(storage);

        String audience = nonEmpty(c, "audience", "default");
        long idling = seconds(c, "idling_timeout", 900);
        long rolling = seconds(c, "rolling_timeout", 3600);
        long absolute = seconds(c, "absolute_timeout", 86400);
        long staleTtl = seconds(c, "stale_ttl", 10);
        long touchThreshold = seconds(c, "touch_threshold", 60);
        int compressionThreshold = c.getInt("compression_threshold", 1024, 0, Integer.MAX_VALUE);

        String cookieName = c.getString("cookie_name", "session");
        if (!isCookieName(cookieName)) {
            throw new ConfigException("cookie_name", "must be 1-64 characters of letters, digits and !#$%&'*+-.^_`|~");
        }
        String cookiePath = c.getString("cookie_path", "/");
        if (!cookiePath.startsWith("/") || !isAttributeValue(cookiePath)) {
            throw new ConfigException("cookie_path", "must start with / and contain no ';', spaces or control characters");
        }
        String cookieDomain = c.getString("cookie_domain", null);
        if (cookieDomain != null && !cookieDomain.isEmpty() && !isAttributeValue(cookieDomain)) {
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
        boolean partitioned = c.getBoolean("cookie_partitioned", false);
        boolean httpOnly = c.getBoolean("cookie_http_only", true);
        boolean secure = c.getBoolean("cookie_secure", true);
        if (c.getBoolean("remember", false)) {
            throw new ConfigException("remember", "remember-me cookies are not supported yet; set false or remove it");
        }

        Set<String> logoutMethods = upperSet(c, "logout_methods", List.of("POST", "DELETE"), LOGOUT_METHODS);
        String logoutQueryArg = nonEmpty(c, "logout_query_arg", "session_logout");
        String logoutPostArg = nonEmpty(c, "logout_post_arg", "session_logout");
        boolean readBody = c.getBoolean("read_body_for_logout", false);
        boolean hashStorageKey = c.getBoolean("hash_storage_key", false);
        Set<String> requestHeaders = enumSet(c, "request_headers", SESSION_HEADERS);
        Set<String> responseHeaders = enumSet(c, "response_headers", SESSION_HEADERS);

        String identityName = c.getString("identity", Identity.APISIX.configName());
        Identity identity = Identity.fromConfig(identityName);
        if (identity == null) {
            throw new ConfigException("identity", "must be one of [apisix, none, upstream]");
        }
        String anonymous = c.getString("anonymous_consumer", null);
        if (anonymous != null && anonymous.isEmpty()) {
            anonymous = null;
        }
        int rejectStatus = c.has("reject_status") ? c.getInt("reject_status", 0, 400, 599) : 0;
        int storageErrorStatus = c.getInt("storage_error_status", 503, 400, 599);

        return new SessionConfig(ikms, storage, storageConfig, audience, idling, rolling, absolute, staleTtl,
                touchThreshold, compressionThreshold, cookieName, cookiePath, cookieDomain, sameSite, priority,
                partitioned, httpOnly, secure, logoutMethods, logoutQueryArg, logoutPostArg, readBody,
                hashStorageKey, requestHeaders, responseHeaders, identity, anonymous, rejectStatus,
                storageErrorStatus);
    }

    private String resolveSecret(String value, String field) throws ConfigException {
        StorageConfig one = StorageConfig.of("", Map.of(field, value));
        String resolved = one.getSecret(field, null, environment);
        if (resolved == null || resolved.isEmpty()) {
            throw new ConfigException(field, "must not be empty");
        }
        return resolved;
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

    /** An RFC 6265 cookie-name token, short enough to leave room for the session in 4 KB. */
    static boolean isCookieName(String name) {
        if (name.isEmpty() || name.length() > 64) {
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
        return new String(b.toString().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }
}
