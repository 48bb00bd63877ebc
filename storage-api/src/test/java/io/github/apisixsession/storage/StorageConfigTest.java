package io.github.apisixsession.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class StorageConfigTest {

    private static StorageConfig redis(Map<String, ?> values) {
        return StorageConfig.of("redis", values);
    }

    /** Asserts the config error and returns its message. */
    private static String fails(String field, Executable call) {
        StorageConfigException e = assertThrows(StorageConfigException.class, call);
        assertEquals(field, e.field());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
        return e.getMessage();
    }

    // ---- basics

    @Test
    void pathKeysAndRawValues() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("host", "h");
        values.put("gone", null);
        StorageConfig c = redis(values);
        assertEquals("redis", c.path());
        assertEquals(List.of("host", "gone"), List.copyOf(c.keys()));
        assertTrue(c.has("host"));
        assertFalse(c.has("gone"), "a null value counts as absent");
        assertFalse(c.has("port"));
        assertEquals("h", c.raw("host"));
        assertNull(c.raw("port"));
        assertEquals("redis.host", c.field("host"));
        assertEquals("host", StorageConfig.empty("").field("host"));
    }

    @Test
    void nullValuesAreAnEmptyObject() {
        StorageConfig c = StorageConfig.of("memory", null);
        assertTrue(c.keys().isEmpty());
        assertEquals(StorageConfig.empty("memory"), c);
    }

    @Test
    void isADeepCopyOfTheGivenMap() {
        Map<String, Object> nested = new HashMap<>(Map.of("port", 1));
        List<Object> list = new ArrayList<>(List.of("a"));
        Map<String, Object> values = new HashMap<>(Map.of("host", "h", "nested", nested, "list", list));
        StorageConfig c = redis(values);
        values.put("host", "changed");
        nested.put("port", 2);
        list.add("b");
        assertEquals("h", c.getString("host", null));
        assertEquals(1, c.getObject("nested").getInt("port", 0, 0, 10));
        assertEquals(List.of("a"), c.getStringList("list"));
        assertThrows(UnsupportedOperationException.class, () -> c.keys().clear());
        assertThrows(UnsupportedOperationException.class, () -> ((List<?>) c.raw("list")).clear());
    }

    @Test
    void equalityIsByContentSoRoutesCanShareAStorage() {
        StorageConfig a = redis(Map.of("host", "h", "port", 6379));
        StorageConfig b = redis(new LinkedHashMap<>(Map.of("port", 6379, "host", "h")));
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, redis(Map.of("host", "h", "port", 6380)));
    }

    @Test
    void toStringShowsFieldNamesButNotValues() {
        String s = redis(Map.of("password", "hunter2")).toString();
        assertTrue(s.contains("password"), s);
        assertFalse(s.contains("hunter2"), s);
    }

    // ---- requireOnly

    @Test
    void requireOnlyAcceptsKnownFields() {
        redis(Map.of("host", "h")).requireOnly(Set.of("host", "port"));
        StorageConfig.empty("redis").requireOnly(Set.of());
    }

    @Test
    void requireOnlyNamesTheUnknownFieldAndListsTheAllowedOnes() {
        String msg = fails("redis.hots", () -> redis(Map.of("hots", "h")).requireOnly(Set.of("port", "host")));
        assertTrue(msg.contains("unknown field"), msg);
        assertTrue(msg.contains("[host, port]"), msg);
    }

    // ---- strings and secrets

    @Test
    void getString() {
        StorageConfig c = redis(Map.of("host", "h", "port", 1));
        assertEquals("h", c.getString("host", "d"));
        assertEquals("d", c.getString("missing", "d"));
        assertNull(c.getString("missing", null));
        fails("redis.port", () -> c.getString("port", null));
    }

    @Test
    void secretsArePlainOrFromTheEnvironment() {
        Function<String, String> env = Map.of("REDIS_PASSWORD", "s3cret")::get;
        StorageConfig c = redis(Map.of("plain", "p", "ref", "$env://REDIS_PASSWORD"));
        assertEquals("p", c.getSecret("plain", null, env));
        assertEquals("s3cret", c.getSecret("ref", null, env));
        assertEquals("d", c.getSecret("missing", "d", env));
        assertEquals("s3cret", c.getSecret("missing", "$env://REDIS_PASSWORD", env), "a default may be a reference too");
    }

    @Test
    void aReferenceToAnUnsetVariableIsAnError() {
        StorageConfig c = redis(Map.of("password", "$env://NOT_SET"));
        String msg = fails("redis.password", () -> c.getSecret("password", null, name -> null));
        assertTrue(msg.contains("NOT_SET"), msg);
        fails("redis.password", () -> redis(Map.of("password", "$env://")).getSecret("password", null, name -> "x"));
    }

    @Test
    void theResolvedSecretIsNeverInAnError() {
        StorageConfig c = redis(Map.of("password", 5));
        String msg = fails("redis.password", () -> c.getSecret("password", null, name -> "s3cret"));
        assertFalse(msg.contains("s3cret"));
    }

    // ---- booleans

    @Test
    void getBoolean() {
        StorageConfig c = redis(Map.of("ssl", true, "verify", "true"));
        assertTrue(c.getBoolean("ssl", false));
        assertTrue(c.getBoolean("missing", true));
        assertFalse(c.getBoolean("missing", false));
        fails("redis.verify", () -> c.getBoolean("verify", false));
    }

    // ---- integers

    @Test
    void getLongAcceptsEveryIntegralJsonNumber() {
        StorageConfig c = redis(Map.of("i", 7, "l", 8L, "d", 9.0, "bd", new BigDecimal("10.00"), "bi", BigInteger.valueOf(11)));
        assertEquals(7, c.getLong("i", 0, 0, 100));
        assertEquals(8, c.getLong("l", 0, 0, 100));
        assertEquals(9, c.getLong("d", 0, 0, 100));
        assertEquals(10, c.getLong("bd", 0, 0, 100));
        assertEquals(11, c.getLong("bi", 0, 0, 100));
        assertEquals(42, c.getLong("missing", 42, 0, 100));
    }

    @Test
    void getLongRejectsNonIntegers() {
        StorageConfig c = redis(Map.of("s", "5", "f", 1.5, "bd", new BigDecimal("1.5"), "nan", Double.NaN,
                "inf", Double.POSITIVE_INFINITY, "b", true));
        for (String k : List.of("s", "f", "bd", "nan", "inf", "b")) {
            String msg = fails("redis." + k, () -> c.getLong(k, 0, 0, 100));
            assertTrue(msg.endsWith("must be an integer"), msg);
        }
    }

    @Test
    void getLongEnforcesTheRangeInclusively() {
        StorageConfig c = redis(Map.of("low", 0, "min", 1, "max", 65535, "high", 65536));
        assertEquals(1, c.getLong("min", 0, 1, 65535));
        assertEquals(65535, c.getLong("max", 0, 1, 65535));
        String msg = fails("redis.low", () -> c.getLong("low", 0, 1, 65535));
        assertTrue(msg.contains("between 1 and 65535"), msg);
        fails("redis.high", () -> c.getLong("high", 0, 1, 65535));
    }

    @Test
    void hugeNumbersAreOutOfRangeInsteadOfWrapping() {
        StorageConfig c = redis(Map.of("d", 1e30, "bi", BigInteger.ONE.shiftLeft(64), "neg", -1e30));
        fails("redis.d", () -> c.getLong("d", 0, Long.MIN_VALUE, Long.MAX_VALUE));
        fails("redis.bi", () -> c.getLong("bi", 0, Long.MIN_VALUE, Long.MAX_VALUE));
        fails("redis.neg", () -> c.getLong("neg", 0, Long.MIN_VALUE, Long.MAX_VALUE));
    }

    @Test
    void getInt() {
        StorageConfig c = redis(Map.of("port", 6379, "bad", 70000));
        assertEquals(6379, c.getInt("port", 0, 1, 65535));
        assertEquals(6379, c.getInt("missing", 6379, 1, 65535));
        fails("redis.bad", () -> c.getInt("bad", 0, 1, 65535));
    }

    // ---- durations

    @Test
    void getSecondsAcceptsFractionalSeconds() {
        StorageConfig c = redis(Map.of("t", 1.5, "i", 2, "z", 0));
        Duration max = Duration.ofMinutes(1);
        assertEquals(Duration.ofMillis(1500), c.getSeconds("t", null, Duration.ZERO, max));
        assertEquals(Duration.ofSeconds(2), c.getSeconds("i", null, Duration.ZERO, max));
        assertEquals(Duration.ZERO, c.getSeconds("z", null, Duration.ZERO, max));
        assertEquals(Duration.ofSeconds(3), c.getSeconds("missing", Duration.ofSeconds(3), Duration.ZERO, max));
    }

    @Test
    void getSecondsRejectsBadValuesNamingTheField() {
        StorageConfig c = redis(Map.of("s", "1", "nan", Double.NaN, "neg", -1, "big", 61, "tiny", 0.0001));
        Duration min = Duration.ofMillis(1);
        Duration max = Duration.ofMinutes(1);
        fails("redis.s", () -> c.getSeconds("s", null, min, max));
        fails("redis.nan", () -> c.getSeconds("nan", null, min, max));
        fails("redis.neg", () -> c.getSeconds("neg", null, min, max));
        String msg = fails("redis.big", () -> c.getSeconds("big", null, min, max));
        assertTrue(msg.contains("between 0.001 and 60 seconds"), msg);
        fails("redis.tiny", () -> c.getSeconds("tiny", null, min, max));
    }

    // ---- nested objects and lists

    @Test
    void nestedObjectsCarryTheirPath() {
        StorageConfig c = StorageConfig.of("redis", Map.of("sentinel", Map.of("master", "m", "port", "x")));
        StorageConfig sentinel = c.getObject("sentinel");
        assertEquals("redis.sentinel", sentinel.path());
        assertEquals("m", sentinel.getString("master", null));
        fails("redis.sentinel.port", () -> sentinel.getInt("port", 0, 1, 65535));
        assertEquals("redis.absent", c.getObject("absent").path());
        assertTrue(c.getObject("absent").keys().isEmpty());
    }

    @Test
    void aNonObjectIsAnError() {
        fails("redis.sentinel", () -> redis(Map.of("sentinel", "x")).getObject("sentinel"));
        fails("redis.nodes", () -> redis(Map.of("nodes", Map.of())).getObjectList("nodes"));
    }

    @Test
    void objectListsNameTheIndexInErrors() {
        StorageConfig c = redis(Map.of("nodes", List.of(
                Map.of("host", "a", "port", 7000),
                Map.of("host", "b", "port", "7001"))));
        List<StorageConfig> nodes = c.getObjectList("nodes");
        assertEquals(2, nodes.size());
        assertEquals("redis.nodes[0]", nodes.get(0).path());
        assertEquals(7000, nodes.get(0).getInt("port", 0, 1, 65535));
        String msg = fails("redis.nodes[1].port", () -> nodes.get(1).getInt("port", 0, 1, 65535));
        assertTrue(msg.endsWith("must be an integer"), msg);
        assertEquals(List.of(), c.getObjectList("absent"));
    }

    @Test
    void aNonObjectInAnObjectListNamesItsIndex() {
        StorageConfig c = redis(Map.of("nodes", List.of(Map.of("host", "a"), "b")));
        fails("redis.nodes[1]", () -> c.getObjectList("nodes"));
    }

    @Test
    void stringLists() {
        StorageConfig c = redis(Map.of("hosts", List.of("a", "b"), "bad", List.of("a", 1), "scalar", "a"));
        assertEquals(List.of("a", "b"), c.getStringList("hosts"));
        assertEquals(List.of(), c.getStringList("absent"));
        fails("redis.bad[1]", () -> c.getStringList("bad"));
        fails("redis.scalar", () -> c.getStringList("scalar"));
        assertThrows(UnsupportedOperationException.class, () -> c.getStringList("hosts").add("c"));
    }
}
