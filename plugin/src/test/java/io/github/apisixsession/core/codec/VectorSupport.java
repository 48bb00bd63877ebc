package io.github.apisixsession.core.codec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-side model of lua-resty-session's {@code open()} on top of the codec: the config of a
 * vector, cookie parsing, the storage lookup and the audience check (which live in the engine,
 * not in the codec).
 */
public final class VectorSupport {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HexFormat HEX = HexFormat.of();
    static final String RESOURCE = "/test-vectors/lua-resty-session-4.0.5.jsonl";
    /** lua-resty-session 4.1.5 cookies bound to IPv4 and IPv6 clients (generate-bind/). */
    public static final String BIND_RESOURCE = "/test-vectors/lua-resty-session-4.1.5-bind.jsonl";
    /** nginx's {@code $remote_addr} and {@code $binary_remote_addr} for many client addresses. */
    public static final String REMOTE_ADDR_RESOURCE = "/test-vectors/nginx-remote-addr.jsonl";
    static final long MAX_TTL = 34_560_000L;

    private VectorSupport() {
    }

    static List<JsonNode> load() {
        return load(RESOURCE);
    }

    /** One JSON object per non-blank line of a classpath resource. */
    public static List<JsonNode> load(String resource) {
        try (InputStream in = VectorSupport.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the classpath");
            }
            List<JsonNode> out = new ArrayList<>();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.isBlank()) {
                    out.add(JSON.readTree(line));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, String> parseCookieHeader(String header) {
        Map<String, String> m = new LinkedHashMap<>();
        if (header == null || header.isEmpty()) {
            return m;
        }
        for (String part : header.split("; ")) {
            int eq = part.indexOf('=');
            m.put(part.substring(0, eq), part.substring(eq + 1));
        }
        return m;
    }

    static Map<String, String> cookieMap(JsonNode obj) {
        Map<String, String> m = new LinkedHashMap<>();
        if (obj != null) {
            obj.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        }
        return m;
    }

    static String text(JsonNode n, String field, String def) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? def : v.asText();
    }

    static long num(JsonNode n, String field, long def) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? def : v.asLong();
    }

    static boolean bool(JsonNode n, String field, boolean def) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? def : v.asBoolean();
    }

    static KeyDerivation kdfOf(String safety) {
        return switch (safety) {
            case "None" -> KeyDerivation.HKDF;
            case "Low" -> KeyDerivation.pbkdf2(1_000);
            case "High" -> KeyDerivation.pbkdf2(100_000);
            case "Very High" -> KeyDerivation.pbkdf2(1_000_000);
            default -> KeyDerivation.pbkdf2(10_000);
        };
    }

    static KeyDerivation kdfOfLabel(String label) {
        if ("hkdf-sha256".equals(label)) {
            return KeyDerivation.HKDF;
        }
        if (label.startsWith("pbkdf2-sha256/")) {
            return KeyDerivation.pbkdf2(Integer.parseInt(label.substring("pbkdf2-sha256/".length())));
        }
        throw new IllegalArgumentException(label);
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A lua-resty-session configuration table with the library defaults applied. */
    static final class Cfg {
        final List<byte[]> ikms = new ArrayList<>();
        final int compressionThreshold;
        final boolean storage;
        final boolean hashStorageKey;
        final String cookieName;
        final String rememberName;
        final boolean remember;
        final KeyDerivation rememberKdf;
        final SessionCodec.Timeouts timeouts;
        final SessionCodec.Timeouts rememberTimeouts;
        final long rememberRolling;
        final String audience;
        final CookieAttributes attributes;
        final long rollingTimeout;
        final long idlingTimeout;
        final long touchThreshold;
        final SessionCodec codec;

        Cfg(JsonNode c) {
            if (c.hasNonNull("ikm_hex")) {
                ikms.add(HEX.parseHex(c.get("ikm_hex").asText()));
            } else {
                ikms.add(SessionCodec.ikmOf(c.get("secret").asText()));
            }
            if (c.has("ikm_fallbacks_hex")) {
                c.get("ikm_fallbacks_hex").forEach(n -> ikms.add(HEX.parseHex(n.asText())));
            }
            if (c.has("secret_fallbacks")) {
                c.get("secret_fallbacks").forEach(n -> ikms.add(SessionCodec.ikmOf(n.asText())));
            }
            compressionThreshold = (int) num(c, "compression_threshold", 1024);
            String st = text(c, "storage", "cookie");
            storage = !"cookie".equals(st);
            hashStorageKey = bool(c, "hash_storage_key", false);
            String prefix = text(c, "cookie_prefix", "");
            cookieName = prefix + text(c, "cookie_name", "session");
            rememberName = prefix + text(c, "remember_cookie_name", "remember");
            remember = bool(c, "remember", false);
            rememberKdf = kdfOf(text(c, "remember_safety", "Medium"));
            idlingTimeout = num(c, "idling_timeout", 900);
            rollingTimeout = num(c, "rolling_timeout", 3600);
            timeouts = new SessionCodec.Timeouts(idlingTimeout, rollingTimeout, num(c, "absolute_timeout", 86400));
            rememberRolling = num(c, "remember_rolling_timeout", 604800);
            rememberTimeouts = new SessionCodec.Timeouts(0, rememberRolling, num(c, "remember_absolute_timeout", 2592000));
            touchThreshold = num(c, "touch_threshold", 60);
            audience = text(c, "audience", "default");
            boolean host = "__Host-".equals(prefix);
            attributes = new CookieAttributes(
                    host ? null : text(c, "cookie_domain", null),
                    host ? "/" : text(c, "cookie_path", "/"),
                    text(c, "cookie_same_site", "Lax"),
                    text(c, "cookie_priority", null),
                    bool(c, "cookie_partitioned", false),
                    bool(c, "cookie_secure", false),
                    bool(c, "cookie_http_only", true)).forName(cookieName);
            codec = new SessionCodec(ikms, compressionThreshold);
        }

        boolean isRememberName(String name) {
            return name.equals(rememberName) || (name.startsWith(rememberName)
                    && name.substring(rememberName.length()).matches("[2-9]"));
        }

        String storageKey(byte[] sid) {
            return Base64Url.encode(hashStorageKey ? sha256(sid) : sid);
        }
    }

    /** What lua's open() yields on success. */
    record Opened(SessionCodec.Verified verified, String cookieName, boolean remember, String payload,
                  byte[] plaintext, JsonNode entries, JsonNode entry) {
    }

    /**
     * lua-resty-session's {@code session:open()}: the main cookie, then (when remember is on and
     * the failure was not an audience miss) the remember cookie; a failed remember cookie
     * reports the main cookie's error.
     */
    static Opened openLikeLua(Cfg cfg, Map<String, String> cookies, long now, JsonNode store)
            throws SessionCodecException {
        try {
            return openOne(cfg, cookies, now, false, store);
        } catch (SessionCodecException e) {
            if (!cfg.remember || "missing session audience".equals(e.reason())) {
                throw e;
            }
            try {
                return openOne(cfg, cookies, now, true, store);
            } catch (SessionCodecException ignored) {
                throw e;
            }
        }
    }

    static Opened openOne(Cfg cfg, Map<String, String> cookies, long now, boolean remember, JsonNode store)
            throws SessionCodecException {
        String name = remember ? cfg.rememberName : cfg.cookieName;
        String value = cookies.get(name);
        SessionCodec.Verified v = cfg.codec.verifyHeader(value, cfg.storage, remember,
                remember ? cfg.rememberTimeouts : cfg.timeouts, now);
        String payload;
        if (cfg.storage) {
            String key = cfg.storageKey(v.header().sid());
            JsonNode stored = store == null ? null : store.get(name + ":" + key);
            if (stored == null) {
                throw new SessionCodecException("unable to load session");
            }
            payload = storedCiphertext(stored.get("value").asText());
        } else {
            payload = CookieChunker.join(name, value, v.header().dataSize(), cookies::get);
        }
        byte[] plaintext = cfg.codec.decrypt(v, payload, remember ? cfg.rememberKdf : KeyDerivation.HKDF);
        JsonNode entries;
        try {
            entries = JSON.readTree(plaintext);
        } catch (IOException e) {
            throw new SessionCodecException("unable to json decode session data");
        }
        for (JsonNode entry : entries) {
            if (cfg.audience.equals(entry.path(1).asText(null))) {
                return new Opened(v, name, remember, payload, plaintext, entries, entry);
            }
        }
        throw new SessionCodecException("missing session audience");
    }

    /** The ciphertext of a stored value {@code ["<b64url ciphertext>", ...]}. */
    static String storedCiphertext(String storedValue) {
        try {
            return JSON.readTree(storedValue).get(0).asText();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
