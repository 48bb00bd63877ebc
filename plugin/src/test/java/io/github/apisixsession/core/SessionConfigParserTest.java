package io.github.apisixsession.core;

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
            Map.of("SESSION_SECRET", "from-the-environment-0123456789abcdef")::get, Set.of("memory"), "process-random");

    @Test
    void kongDefaults() throws ConfigException {
        SessionConfig c = parser.parse("{\"secret\":\"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t\"}");
        assertEquals("cookie", c.storage());
        assertEquals("default", c.audience());
        assertEquals(900, c.idlingTimeout());
        assertEquals(3600, c.rollingTimeout());
        assertEquals(86400, c.absoluteTimeout());
        assertEquals(10, c.staleTtl());
        assertEquals("session", c.cookieName());
        assertEquals("/", c.cookiePath());
        assertNull(c.cookieDomain());
        assertEquals("Strict", c.cookieSameSite());
        assertTrue(c.cookieHttpOnly());
        assertTrue(c.cookieSecure());
        assertEquals(Set.of("POST", "DELETE"), c.logoutMethods());
        assertEquals("session_logout", c.logoutQueryArg());
        assertEquals("session_logout", c.logoutPostArg());
        assertFalse(c.readBodyForLogout());
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
        "{\"secret\":\"x\",\"remember\":true}|remember",
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
}
