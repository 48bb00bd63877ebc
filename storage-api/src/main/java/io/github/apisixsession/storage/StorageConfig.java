package io.github.apisixsession.storage;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * A JSON-free, immutable view of one storage's settings (the route config's object under the
 * storage name). Values are what a JSON parser yields: {@code String}, {@code Number},
 * {@code Boolean}, {@code List}, {@code Map} or null. Every getter names the full field path in
 * its error, so a config error reads {@code redis.port: must be an integer}.
 *
 * <p>Two configs are equal when their contents are, which is how routes with the same settings
 * share one storage client.
 */
public final class StorageConfig {

    private static final String ENV_PREFIX = "$env://";

    private final String path;
    private final Map<String, Object> values;

    private StorageConfig(String path, Map<String, Object> values) {
        this.path = path;
        this.values = values;
    }

    /**
     * @param path   the name of this object in the route config, e.g. {@code redis}
     * @param values the parsed JSON object; null is treated as an empty object
     */
    public static StorageConfig of(String path, Map<String, ?> values) {
        return new StorageConfig(Objects.requireNonNull(path, "path"), freeze(values == null ? Map.of() : values));
    }

    public static StorageConfig empty(String path) {
        return of(path, Map.of());
    }

    /** The dotted path of this object in the route config. */
    public String path() {
        return path;
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public boolean has(String key) {
        return values.containsKey(key) && values.get(key) != null;
    }

    /** The raw value, or null. */
    public Object raw(String key) {
        return values.get(key);
    }

    /** The full path of {@code key}, for error messages. */
    public String field(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** Rejects keys outside {@code known}, listing the ones that are allowed. */
    public void requireOnly(Set<String> known) {
        for (String key : values.keySet()) {
            if (!known.contains(key)) {
                throw new StorageConfigException(field(key), "unknown field; allowed: " + new TreeSet<>(known));
            }
        }
    }

    public String getString(String key, String defaultValue) {
        Object v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        if (!(v instanceof String s)) {
            throw new StorageConfigException(field(key), "must be a string");
        }
        return s;
    }

    /**
     * A string that may be given as {@code $env://NAME}, resolved through {@code environment}.
     * A reference to an unset variable is a config error.
     */
    public String getSecret(String key, String defaultValue, Function<String, String> environment) {
        String v = getString(key, defaultValue);
        if (v != null && v.startsWith(ENV_PREFIX)) {
            String name = v.substring(ENV_PREFIX.length());
            if (name.isEmpty()) {
                throw new StorageConfigException(field(key), "$env:// must be followed by a variable name");
            }
            String resolved = environment.apply(name);
            if (resolved == null) {
                throw new StorageConfigException(field(key), "environment variable " + name + " is not set");
            }
            return resolved;
        }
        return v;
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        Object v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        if (!(v instanceof Boolean b)) {
            throw new StorageConfigException(field(key), "must be a boolean");
        }
        return b;
    }

    public long getLong(String key, long defaultValue, long min, long max) {
        Object v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        BigDecimal exact = v instanceof Number n ? exact(n) : null;
        if (exact == null || exact.signum() != 0 && exact.stripTrailingZeros().scale() > 0) {
            throw new StorageConfigException(field(key), "must be an integer");
        }
        // compared exactly, so 1e30 or a huge BigInteger is out of range instead of wrapping around
        if (exact.compareTo(BigDecimal.valueOf(min)) < 0 || exact.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw new StorageConfigException(field(key), "must be between " + min + " and " + max);
        }
        return exact.longValueExact();
    }

    public int getInt(String key, int defaultValue, int min, int max) {
        return (int) getLong(key, defaultValue, min, max);
    }

    /** A duration given in (possibly fractional) seconds, as Kong and lua-resty-session do. */
    public Duration getSeconds(String key, Duration defaultValue, Duration min, Duration max) {
        Object v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        if (!(v instanceof Number n)) {
            throw new StorageConfigException(field(key), "must be a number of seconds");
        }
        double seconds = n.doubleValue();
        if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
            throw new StorageConfigException(field(key), "must be a finite number of seconds");
        }
        Duration d = Duration.ofNanos(Math.round(seconds * 1_000_000_000d));
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new StorageConfigException(field(key),
                    "must be between " + seconds(min) + " and " + seconds(max) + " seconds");
        }
        return d;
    }

    /** A nested object, or an empty one when absent. */
    public StorageConfig getObject(String key) {
        Object v = values.get(key);
        if (v == null) {
            return empty(field(key));
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new StorageConfigException(field(key), "must be an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) m;
        return new StorageConfig(field(key), map);
    }

    /** A list of objects (e.g. Redis {@code nodes}); empty when absent. */
    public List<StorageConfig> getObjectList(String key) {
        Object v = values.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new StorageConfigException(field(key), "must be an array");
        }
        List<StorageConfig> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> m)) {
                throw new StorageConfigException(field(key) + "[" + i + "]", "must be an object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) m;
            out.add(new StorageConfig(field(key) + "[" + i + "]", map));
        }
        return out;
    }

    /** A list of strings; empty when absent. */
    public List<String> getStringList(String key) {
        Object v = values.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new StorageConfigException(field(key), "must be an array of strings");
        }
        List<String> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof String s)) {
                throw new StorageConfigException(field(key) + "[" + i + "]", "must be a string");
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StorageConfig other && values.equals(other.values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    /** Field names only: values may be passwords. */
    @Override
    public String toString() {
        return "StorageConfig[" + path + " " + values.keySet() + "]";
    }

    /** The exact value of a parsed JSON number, or null for NaN and infinities. */
    private static BigDecimal exact(Number n) {
        if (n instanceof BigDecimal b) {
            return b;
        }
        if (n instanceof BigInteger b) {
            return new BigDecimal(b);
        }
        if (n instanceof Double || n instanceof Float) {
            double d = n.doubleValue();
            return Double.isNaN(d) || Double.isInfinite(d) ? null : new BigDecimal(d);
        }
        return BigDecimal.valueOf(n.longValue());
    }

    private static String seconds(Duration d) {
        return d.toNanos() % 1_000_000_000L == 0 ? Long.toString(d.getSeconds())
                : Double.toString(d.toNanos() / 1e9);
    }

    private static Map<String, Object> freeze(Map<String, ?> in) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : in.entrySet()) {
            out.put(e.getKey(), freezeValue(e.getValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    /** Deep copy, so a caller that keeps the parsed JSON cannot change a config in use (lists of lists too). */
    @SuppressWarnings("unchecked")
    private static Object freezeValue(Object v) {
        if (v instanceof Map<?, ?> m) {
            return freeze((Map<String, ?>) m);
        }
        if (v instanceof List<?> l) {
            List<Object> copy = new ArrayList<>(l.size());
            for (Object o : l) {
                copy.add(freezeValue(o));
            }
            return Collections.unmodifiableList(copy);
        }
        return v;
    }
}
