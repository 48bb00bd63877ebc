package io.github.apisixsession.core.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionConfigParserTest {

    private final SessionConfigParser parser = new SessionConfigParser(
            Map.of("SESSION_SECRET", "from-the-environment-0123456789abcdef")::get, Set.of("memory", "redis"), "process-random");

    @Test
    void kongDefaults() throws ConfigException {
        SessionConfig c = parser.parse("{\"secret\":\"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t\"}");
        assertEquals("cookie", c.storage());
        assertEquals("default", c.audience());
        assertEquals(new SessionConfig.Timeouts(900, 3600, 86400, 10, 60), c.timeouts());
        assertEquals(new SessionConfig.TokenLookup(SessionConfig.TokenLookup.Source.COOKIE, "session"), c.lookup());
        assertEquals(new SessionConfig.Cookie("/", null, "Strict", null, false, true, true, true), c.cookie());
        assertEquals(new SessionConfig.Remember(false, "remember", 604800, 2592000, 10_000), c.remember());
        assertEquals(new SessionConfig.Logout(Set.of("POST", "DELETE"), "session_logout", "session_logout", false, null),
                c.logout());
        assertFalse(c.hashSubject());
        assertFalse(c.storeMetadata());
        assertFalse(c.hashStorageKey());
        assertTrue(c.forwardSession());
        assertTrue(c.bind().isEmpty());
        assertTrue(c.mapHeaders().isEmpty());
        assertFalse(c.failureLimit().enabled());
        assertNull(c.stickyCookieName());
        assertEquals(Identity.APISIX, c.identity());
        assertEquals(0, c.rejectStatus());
        assertEquals(503, c.storageErrorStatus());
        assertEquals(1, c.ikms().size());
    }

    @Test
    void secretFromEnvironmentAndFallbacks() throws ConfigException {
        SessionConfig c = parser.parse("{\"secret\":\"$env://SESSION_SECRET\",\"secret_fallbacks\":[\"old-one\",\"older\"]}");
        assertEquals(3, c.ikms().size());
        SessionConfig direct = parser.parse("{\"secret\":\"from-the-environment-0123456789abcdef\"}");
        assertArrayEquals(direct.ikms().get(0), c.ikms().get(0));
    }

    @Test
    void randomSecretIsOptIn() throws ConfigException {
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse("{}"));
        assertEquals("secret", e.field());
        assertEquals(1, parser.parse("{\"random_secret\":true}").ikms().size());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"secret\":\"x\",\"bogus\":1}|bogus",
        "{\"secret\":5}|secret",
        "{\"secret\":\"\"}|secret",
        "{\"secret\":\"$env://NOPE\"}|secret",
        "{\"secret\":\"x\",\"secret_fallbacks\":[\"$env://NOPE\"]}|secret_fallbacks[0]",
        "{\"secret\":\"x\",\"storage\":\"mongo\"}|storage",
        "{\"secret\":\"x\",\"idling_timeout\":-1}|idling_timeout",
        "{\"secret\":\"x\",\"rolling_timeout\":\"1h\"}|rolling_timeout",
        "{\"secret\":\"x\",\"cookie_same_site\":\"off\"}|cookie_same_site",
        "{\"secret\":\"x\",\"cookie_name\":\"a b\"}|cookie_name",
        "{\"secret\":\"x\",\"cookie_path\":\"/a;b\"}|cookie_path",
        "{\"secret\":\"x\",\"cookie_http_only\":\"yes\"}|cookie_http_only",
        "{\"secret\":\"x\",\"logout_methods\":[\"PUT\"]}|logout_methods",
        "{\"secret\":\"x\",\"identity\":\"ldap\"}|identity",
        "{\"secret\":\"x\",\"reject_status\":200}|reject_status",
        "{\"secret\":\"x\",\"request_headers\":[\"nope\"]}|request_headers",
        "{\"secret\":\"x\",\"remember\":true,\"key_lookup\":\"header:X-Session\"}|remember",
        "{\"secret\":\"x\",\"remember_safety\":\"Extreme\"}|remember_safety",
        "{\"secret\":\"x\",\"key_lookup\":\"body:x\"}|key_lookup",
        "{\"secret\":\"x\",\"key_lookup\":\"cookie:a\",\"cookie_name\":\"b\"}|key_lookup",
        "{\"secret\":\"x\",\"bind\":[\"mac\"]}|bind",
        "{\"secret\":\"x\",\"map_headers\":{\"X-Bad Header\":\"a\"}}|map_headers.X-Bad Header",
        "{\"secret\":\"x\",\"map_headers\":{\"X-A\":5}}|map_headers.X-A",
        "{\"secret\":\"x\",\"failure_status\":[\"6xx\"]}|failure_status",
        "{\"secret\":\"x\",\"failure_limit\":-1}|failure_limit",
        "{\"secret\":\"x\",\"sticky_cookie_name\":\"session\"}|sticky_cookie_name",
        "{\"secret\":\"x\",\"shared_state\":{\"storage\":\"nope\"}}|shared_state.storage",
        "{\"secret\":\"x\",\"cookie_lifetime\":10,\"rolling_timeout\":20}|cookie_lifetime",
        "{\"secret\":\"x\",\"storage\":\"kong\",\"memory\":{},\"redis\":{}}|storage",
        "{\"secret\":\"x\",\"storage\":\"memory\",\"memory\":5}|memory",
        "not json|session",
        "[1,2]|session",
        "{\"secret\":\"x\",\"secret\":\"y\"}|session",
    })
    void badConfigNamesTheField(String json, String field) {
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse(json));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }

    @Test
    void kongDeprecatedAliasesMapToTheCurrentFields() throws ConfigException {
        SessionConfig c = parser.parse("{\"secret\":\"x\",\"cookie_lifetime\":100,\"cookie_idletime\":null,"
                + "\"cookie_discard\":5,\"cookie_samesite\":\"off\",\"cookie_httponly\":false,"
                + "\"cookie_persistent\":true,\"cookie_renew\":600}");
        assertEquals(100, c.timeouts().rolling());
        assertEquals(0, c.timeouts().idling(), "cookie_idletime null means 0, as in Kong");
        assertEquals(5, c.timeouts().staleTtl());
        assertEquals("Lax", c.cookie().sameSite(), "Kong maps the old value off to Lax");
        assertFalse(c.cookie().httpOnly());
        assertTrue(c.remember().enabled());
    }

    @Test
    void kongStorageNamesTheConfiguredServerSideStorage() throws ConfigException {
        assertEquals("memory", parser.parse("{\"secret\":\"x\",\"storage\":\"kong\"}").storage());
        SessionConfig withSettings = parser.parse("{\"secret\":\"x\",\"storage\":\"kong\",\"memory\":{\"max_entries\":5}}");
        assertEquals("memory", withSettings.storage());
        assertEquals(5, ((Number) withSettings.storageConfig().raw("max_entries")).intValue());
    }

    @Test
    void oursOnlyOptions() throws ConfigException {
        SessionConfig c = parser.parse("{\"secret\":\"x\",\"storage\":\"memory\",\"store_metadata\":true,"
                + "\"key_lookup\":\"header:X-Session-Token\",\"forward_session\":false,"
                + "\"map_headers\":{\"X-User-Id\":\"user_id\"},\"failure_limit\":3,\"failure_status\":[\"4xx\",503],"
                + "\"sticky_cookie_name\":\"route\",\"bind\":[\"ip\",\"user-agent\"],\"remember_safety\":\"Low\","
                + "\"logout_all_query_arg\":\"session_logout_all\",\"cookie_session_only\":false}");
        assertEquals(SessionConfig.TokenLookup.Source.HEADER, c.lookup().source());
        assertEquals("X-Session-Token", c.tokenName());
        assertFalse(c.forwardSession());
        assertEquals("user_id", c.mapHeaders().get("X-User-Id"));
        assertTrue(c.failureLimit().counts(404));
        assertTrue(c.failureLimit().counts(503));
        assertFalse(c.failureLimit().counts(500));
        assertEquals(3, c.failureLimit().limit());
        assertEquals("route", c.stickyCookieName());
        assertEquals(Set.of(SessionConfig.Bind.IP, SessionConfig.Bind.USER_AGENT), c.bind());
        assertEquals(1_000, c.remember().pbkdf2Iterations());
        assertEquals("session_logout_all", c.logout().allQueryArg());
        assertFalse(c.cookie().sessionOnly());
    }

    @Test
    void errorsNeverEchoTheSecret() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> parser.parse("{\"secret\":\"hunter2-hunter2\",\"x\":"));
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        assertFalse(parser.toString().contains("from-the-environment"));
    }

    @Test
    void toStringHidesKeys() throws ConfigException {
        SessionConfig c = parser.parse("{\"secret\":\"hunter2-hunter2\"}");
        assertFalse(c.toString().contains("hunter2"));
    }

    /**
     * Found by ConfigParserFuzzTest: JSON nested deeper than the parser's limit (32) raised a
     * NullPointerException (the limit's exception has no location) instead of a ConfigException,
     * so the runner answered a PrepareConf with SERVICE_UNAVAILABLE instead of BAD_REQUEST.
     */
    @Test
    void jsonBeyondTheNestingLimitIsAConfigException() {
        String deep = "{\"random_secret\":true,\"request_headers\":[\"id\"," + "[".repeat(40) + "]".repeat(40) + "]}";
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse(deep));
        assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());
        ConfigException broken = assertThrows(ConfigException.class, () -> parser.parse("{\"secret\": [1,"));
        assertTrue(broken.getMessage().contains("invalid JSON at line 1"), broken.getMessage());
    }
}
