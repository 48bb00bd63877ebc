package io.github.apisixsession.simulator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * An ordered list of HTTP header fields with case-insensitive lookup. Repeated names (several
 * {@code Set-Cookie}) are kept in order. {@link #set} follows nginx's {@code ngx.header[name] = v}:
 * it replaces every field of that name.
 */
public final class HttpHeaders implements Iterable<Entry> {
    private final List<Entry> fields = new ArrayList<>();

    public HttpHeaders() {
    }

    public HttpHeaders(Iterable<Entry> entries) {
        for (Entry e : entries) {
            fields.add(e);
        }
    }

    public static HttpHeaders of(String... nameValuePairs) {
        if (nameValuePairs.length % 2 != 0) {
            throw new IllegalArgumentException("name/value pairs expected");
        }
        HttpHeaders h = new HttpHeaders();
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            h.add(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return h;
    }

    public HttpHeaders copy() {
        return new HttpHeaders(fields);
    }

    /** Appends a field. */
    public HttpHeaders add(String name, String value) {
        fields.add(new Entry(name, value == null ? "" : value));
        return this;
    }

    /** Replaces every field called {@code name} with one (or removes them when value is null). */
    public HttpHeaders set(String name, String value) {
        int at = indexOf(name);
        remove(name);
        if (value != null) {
            Entry e = new Entry(name, value);
            if (at >= 0 && at <= fields.size()) {
                fields.add(at, e);
            } else {
                fields.add(e);
            }
        }
        return this;
    }

    /** Removes every field called {@code name}; returns whether any was removed. */
    public boolean remove(String name) {
        return fields.removeIf(e -> e.name().equalsIgnoreCase(name));
    }

    public boolean contains(String name) {
        return indexOf(name) >= 0;
    }

    /** The first value of {@code name}, or null. */
    public String get(String name) {
        int i = indexOf(name);
        return i < 0 ? null : fields.get(i).value();
    }

    public Optional<String> first(String name) {
        return Optional.ofNullable(get(name));
    }

    /** Every value of {@code name}, in order. */
    public List<String> getAll(String name) {
        List<String> out = new ArrayList<>();
        for (Entry e : fields) {
            if (e.name().equalsIgnoreCase(name)) {
                out.add(e.value());
            }
        }
        return out;
    }

    /** Distinct names, lower-cased, in first-seen order. */
    public Set<String> names() {
        Set<String> out = new LinkedHashSet<>();
        for (Entry e : fields) {
            out.add(e.name().toLowerCase(Locale.ROOT));
        }
        return out;
    }

    public List<Entry> entries() {
        return Collections.unmodifiableList(fields);
    }

    public int size() {
        return fields.size();
    }

    public boolean isEmpty() {
        return fields.isEmpty();
    }

    private int indexOf(String name) {
        for (int i = 0; i < fields.size(); i++) {
            if (fields.get(i).name().equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public Iterator<Entry> iterator() {
        return entries().iterator();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(fields.get(i));
        }
        return sb.append(']').toString();
    }
}
