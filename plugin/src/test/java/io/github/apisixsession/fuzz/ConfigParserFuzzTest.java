package io.github.apisixsession.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfig;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The route conf parser on fuzzed text: {@code SessionConfigParser.parse}, then
 * {@code SessionEngine.prepare} for the confs it accepts with cookie or memory storage (Redis and
 * PostgreSQL would connect). The input is UTF-8 text; {@code {S}} in it stands for a secret marker.
 *
 * <p>Oracle: only {@link ConfigException} is thrown, and no error message contains the marker when
 * the marker appears only inside secret values ({@code secret}, {@code secret_fallbacks},
 * {@code password}, {@code sentinel_password}; an {@code $env://NAME} reference is no secret) or the
 * input is not JSON at all (the parser promises never to echo values: they may be secrets).
 */
class ConfigParserFuzzTest {

    static final String MARKER = "S3CR3T-MARKER-9f8e7d6c5b4a-0123456789abcdef";
    private static final Set<String> SECRET_FIELDS = Set.of("secret", "secret_fallbacks", "password",
            "sentinel_password");
    private static final ObjectMapper JSON = new ObjectMapper();

    @FuzzTest
    @DictionaryEntries({"\"secret\"", "\"{S}\"", "\"secret_fallbacks\"", "\"random_secret\"", "\"storage\"",
        "\"memory\"", "\"cookie\"", "\"redis\"", "\"postgres\"", "\"audience\"", "\"idling_timeout\"",
        "\"rolling_timeout\"", "\"absolute_timeout\"", "\"remember\"", "\"remember_cookie_name\"",
        "\"cookie_name\"", "\"cookie_path\"", "\"cookie_domain\"", "\"cookie_same_site\"", "\"cookie_secure\"",
        "\"cookie_http_only\"", "\"cookie_priority\"", "\"cookie_partitioned\"", "\"request_headers\"",
        "\"response_headers\"", "\"identity\"", "\"reject_status\"", "\"logout_methods\"",
        "\"logout_query_arg\"", "\"logout_post_arg\"", "\"read_body_for_logout\"", "\"logout_all_query_arg\"",
        "\"bind\"", "\"hash_storage_key\"", "\"store_metadata\"", "\"max_entries\"", "\"password\"",
        "\"sticky_cookie_name\"", "\"failure_limit\"", "\"$env://\"", "true", "false", "null", "1e309", "-1"})
    void parseAndPrepare(byte[] data) {
        String json = new String(data, StandardCharsets.UTF_8).replace("{S}", MARKER);
        try {
            SessionConfig config = Genuine.H.parser.parse(json);
            String storage = storageOf(json);
            if ("cookie".equals(storage) || "memory".equals(storage)) {
                Genuine.H.engine.prepare(config);
            }
        } catch (ConfigException e) {
            String message = String.valueOf(e.getMessage());
            if (message.contains(MARKER) && markerOnlyInSecrets(json)) {
                throw new AssertionError("a secret in the error message: " + message, e);
            }
        }
    }

    private static String storageOf(String json) {
        try {
            JsonNode s = JSON.readTree(json).get("storage");
            return s == null ? "cookie" : s.asText();
        } catch (Exception e) {
            return "?";
        }
    }

    /** True when the input is no JSON, or every occurrence of the marker is inside a secret value. */
    static boolean markerOnlyInSecrets(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (Exception e) {
            return true;
        }
        return root == null || onlyInSecrets(root, false);
    }

    private static boolean onlyInSecrets(JsonNode node, boolean underSecret) {
        if (node.isTextual()) {
            // "$env://NAME" is a reference, not the secret: the parser names the variable when it
            // is not set, which is fine
            boolean secretValue = underSecret && !node.asText().startsWith("$env://");
            return secretValue || !node.asText().contains(MARKER);
        }
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().contains(MARKER)
                        || !onlyInSecrets(e.getValue(), underSecret || SECRET_FIELDS.contains(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        for (JsonNode child : node) {
            if (!onlyInSecrets(child, underSecret)) {
                return false;
            }
        }
        return true;
    }
}
