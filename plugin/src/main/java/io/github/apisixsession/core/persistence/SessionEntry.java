package io.github.apisixsession.core.persistence;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One audience's part of a session, as Kong stores it: the plaintext of a cookie is the JSON
 * {@code [[data, audience, subject], …]} and Kong's {@code data} is
 * {@code [consumer_id, credential_id, groups]}. We add a fourth element, an object of extra
 * values (from {@code X-Session-Data-*}), and a fifth, the session's family: a random id given at
 * creation and kept across renewals (sticky cookie, failure counting, revocation of every copy).
 * Kong ignores both.
 */
public record SessionEntry(String audience, String subject, String consumer, String credential, List<String> groups,
                    Map<String, String> extra, String family) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).build());
    }

    public SessionEntry {
        groups = groups == null ? List.of() : List.copyOf(groups);
        extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    public static SessionEntry anonymous(String audience, String family) {
        return new SessionEntry(audience, null, null, null, List.of(), Map.of(), family);
    }

    /** The same entry with a family, for sessions made before families (e.g. Kong's cookies). */
    public SessionEntry withFamily(String newFamily) {
        return new SessionEntry(audience, subject, consumer, credential, groups, extra, newFamily);
    }

    /** A value for {@code map_headers}: a built-in name or a key of the extra data. */
    public String value(String name) {
        return switch (name) {
            case "subject" -> subject;
            case "consumer" -> consumer;
            case "credential" -> credential;
            case "groups" -> joinedGroups();
            case "audience" -> audience;
            default -> extra.get(dataKey(name));
        };
    }

    /** Data names compare like header names: {@code X-Session-Data-User-Id} is {@code user_id}. */
    public static String dataKey(String name) {
        return name.toLowerCase(java.util.Locale.ROOT).replace('-', '_');
    }

    public boolean hasSubject() {
        return subject != null && !subject.isEmpty();
    }

    /** The groups as one header value ({@code a,b}), or null when there are none. */
    public String joinedGroups() {
        return groups.isEmpty() ? null : String.join(",", groups);
    }

    /** Groups from a comma-separated header or variable value; blanks dropped. */
    public static List<String> groupsOf(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : value.split(",")) {
            String t = part.trim();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /** A new random family id (16 bytes, base64url), given to a session at creation. */
    public static String newFamily() {
        byte[] family = new byte[16];
        RANDOM.nextBytes(family);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(family);
    }

    static byte[] encode(List<SessionEntry> entries) {
        ArrayNode root = JsonNodeFactory.instance.arrayNode();
        for (SessionEntry e : entries) {
            ArrayNode entry = root.addArray();
            if (e.consumer == null && e.credential == null && e.groups.isEmpty() && e.extra.isEmpty()
                    && e.family == null) {
                entry.addObject();
            } else {
                ArrayNode data = entry.addArray();
                data.add(e.consumer);
                data.add(e.credential);
                if (e.groups.isEmpty()) {
                    data.addNull();
                } else {
                    ArrayNode groups = data.addArray();
                    e.groups.forEach(groups::add);
                }
                ObjectNode extra = data.addObject();
                e.extra.forEach(extra::put);
                if (e.family != null) {
                    data.add(e.family);
                }
            }
            entry.add(e.audience);
            if (e.subject != null) {
                entry.add(e.subject);
            }
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("cannot encode session entries", ex);
        }
    }

    /**
     * Decodes the plaintext of a cookie. Anything that is not Kong's shape is rejected; unknown
     * shapes inside {@code data} are tolerated (a Kong cookie has UUIDs there).
     */
    static List<SessionEntry> decode(byte[] plaintext) throws InvalidEntries {
        List<SessionEntry> streamed = SessionEntryStream.read(JSON.getFactory(), plaintext);
        return streamed != null ? streamed : decodeTree(plaintext);
    }

    /** {@link #decode} through a JSON tree: every shape, including Kong's. */
    static List<SessionEntry> decodeTree(byte[] plaintext) throws InvalidEntries {
        JsonNode root;
        try {
            root = JSON.readTree(plaintext);
        } catch (IOException e) {
            throw new InvalidEntries("unable to json decode session");
        }
        if (root == null || !root.isArray() || root.isEmpty()) {
            throw new InvalidEntries("invalid session data");
        }
        List<SessionEntry> out = new ArrayList<>(root.size());
        for (JsonNode entry : root) {
            if (!entry.isArray() || entry.size() < 2 || !entry.get(1).isTextual()) {
                throw new InvalidEntries("invalid session data");
            }
            JsonNode data = entry.get(0);
            String subject = entry.size() > 2 && entry.get(2).isTextual() ? entry.get(2).asText() : null;
            String consumer = null;
            String credential = null;
            List<String> groups = new ArrayList<>();
            Map<String, String> extra = new LinkedHashMap<>();
            String family = null;
            if (data.isArray()) {
                consumer = text(data.get(0));
                credential = text(data.get(1));
                JsonNode g = data.get(2);
                if (g != null && g.isArray()) {
                    g.forEach(n -> {
                        if (n.isTextual()) {
                            groups.add(n.asText());
                        }
                    });
                } else if (g != null && g.isTextual()) {
                    groups.add(g.asText());
                }
                JsonNode x = data.get(3);
                if (x != null && x.isObject()) {
                    x.fields().forEachRemaining(f -> {
                        if (f.getValue().isValueNode() && !f.getValue().isNull()) {
                            extra.put(f.getKey(), f.getValue().asText());
                        }
                    });
                }
                family = text(data.get(4));
            }
            out.add(new SessionEntry(entry.get(1).asText(), subject, consumer, credential, groups, extra, family));
        }
        return out;
    }

    private static String text(JsonNode n) {
        return n != null && (n.isTextual() || n.isNumber()) ? n.asText() : null;
    }

    /** The plaintext is not a session of any version we know. */
    static final class InvalidEntries extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidEntries(String reason) {
            super(reason, null, false, false);
        }
    }
}
