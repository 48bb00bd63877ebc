package io.github.apisixsession.core.persistence;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the session entries in exactly the shape {@link SessionEntry#encode} writes with Jackson's
 * streaming parser, without building a tree: {@code [[data, audience, subject?], …]} where
 * {@code data} is {@code {}} or {@code [consumer|null, credential|null, null|[group, …],
 * {key: "value", …}, family?]}. Anything else (numbers, other types, extra elements, a repeated
 * key, trailing content, a parse error) gives null and {@link SessionEntry#decode} falls back to
 * its tree reader, which decides exactly as before; for every input accepted here both give the
 * same entries ({@code SessionEntryStreamTest}). Every request with a session decodes its entries,
 * and the tree was most of that cost.
 */
final class SessionEntryStream {

    private SessionEntryStream() {
    }

    /** The entries, or null when the plaintext is not in the encoder's shape. */
    static List<SessionEntry> read(JsonFactory factory, byte[] plaintext) {
        try (JsonParser p = factory.createParser(plaintext)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                return null;
            }
            List<SessionEntry> out = new ArrayList<>(1);
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.START_ARRAY) {
                SessionEntry e = entry(p);
                if (e == null) {
                    return null;
                }
                out.add(e);
            }
            if (t != JsonToken.END_ARRAY || out.isEmpty() || p.nextToken() != null) {
                return null;
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** One entry, its START_ARRAY read. */
    private static SessionEntry entry(JsonParser p) throws IOException {
        String consumer = null;
        String credential = null;
        List<String> groups = new ArrayList<>(1);
        Map<String, String> extra = new LinkedHashMap<>();
        String family = null;
        JsonToken t = p.nextToken();
        if (t == JsonToken.START_OBJECT) {
            if (p.nextToken() != JsonToken.END_OBJECT) {
                return null;
            }
        } else if (t == JsonToken.START_ARRAY) {
            t = p.nextToken();
            if (!isStringOrNull(t)) {
                return null;
            }
            consumer = t == JsonToken.VALUE_STRING ? p.getText() : null;
            t = p.nextToken();
            if (!isStringOrNull(t)) {
                return null;
            }
            credential = t == JsonToken.VALUE_STRING ? p.getText() : null;
            t = p.nextToken();
            if (t == JsonToken.START_ARRAY) {
                while ((t = p.nextToken()) == JsonToken.VALUE_STRING) {
                    groups.add(p.getText());
                }
                if (t != JsonToken.END_ARRAY) {
                    return null;
                }
            } else if (t != JsonToken.VALUE_NULL) {
                return null;
            }
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                if (p.nextToken() != JsonToken.VALUE_STRING || extra.putIfAbsent(key, p.getText()) != null) {
                    return null;
                }
            }
            if (t != JsonToken.END_OBJECT) {
                return null;
            }
            t = p.nextToken();
            if (t == JsonToken.VALUE_STRING) {
                family = p.getText();
                t = p.nextToken();
            }
            if (t != JsonToken.END_ARRAY) {
                return null;
            }
        } else {
            return null;
        }
        if (p.nextToken() != JsonToken.VALUE_STRING) {
            return null;
        }
        String audience = p.getText();
        String subject = null;
        t = p.nextToken();
        if (t == JsonToken.VALUE_STRING) {
            subject = p.getText();
            t = p.nextToken();
        }
        if (t != JsonToken.END_ARRAY) {
            return null;
        }
        return new SessionEntry(audience, subject, consumer, credential, groups, extra, family);
    }

    private static boolean isStringOrNull(JsonToken t) {
        return t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NULL;
    }
}
