package io.github.apisixsession.core.persistence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** lua-resty-session's value for a server-side session: {@code ["<base64url ciphertext>"]}. */
final class StoredValue {

    private static final ObjectMapper JSON = new ObjectMapper();

    private StoredValue() {
    }

    /** The value to store for a sealed payload (base64url needs no escaping). */
    static byte[] of(String payload) {
        return ("[\"" + payload + "\"]").getBytes(StandardCharsets.US_ASCII);
    }

    /** The payload of a stored value, or null when it is not lua-resty-session's shape. */
    static String payloadOf(byte[] stored) {
        // the value this engine writes, ["<base64url>"], needs no JSON parser; anything else does
        int n = stored.length;
        if (n >= 4 && stored[0] == '[' && stored[1] == '"' && stored[n - 2] == '"' && stored[n - 1] == ']') {
            boolean plain = true;
            for (int i = 2; i < n - 2 && plain; i++) {
                byte b = stored[i];
                plain = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_';
            }
            if (plain) {
                return new String(stored, 2, n - 4, StandardCharsets.US_ASCII);
            }
        }
        try {
            JsonNode node = JSON.readTree(stored);
            if (node != null && node.isArray() && !node.isEmpty() && node.get(0).isTextual()) {
                return node.get(0).asText();
            }
        } catch (IOException e) {
            // not lua-resty-session's value: treated as no session
        }
        return null;
    }
}
