package io.github.apisixsession.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CookieJarTest {
    @Test
    void parsesNameValueAndAttributes() {
        SetCookie c = SetCookie.parse("session=AbC-_1; Path=/; SameSite=Strict; HttpOnly; Secure");
        assertEquals("session", c.name());
        assertEquals("AbC-_1", c.value());
        assertEquals("/", c.attribute("path"));
        assertEquals("Strict", c.attribute("SameSite"));
        assertTrue(c.httpOnly());
        assertTrue(c.secure());
        assertFalse(c.deletes());
        assertNull(SetCookie.parse("garbage"));
    }

    @Test
    void maxAgeZeroOrPastExpiresDeletes() {
        assertTrue(SetCookie.parse("session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0").deletes());
        assertTrue(SetCookie.parse("session=x; Expires=Thu, 01 Jan 1970 00:00:01 GMT").deletes());
        assertFalse(SetCookie.parse("session=x; Max-Age=3600").deletes());
        assertFalse(SetCookie.parse("session=x; Expires=Fri, 01 Jan 2100 00:00:00 GMT").deletes());
    }

    @Test
    void jarStoresReplacesAndDeletes() {
        CookieJar jar = new CookieJar();
        assertEquals("", jar.cookieHeader());
        jar.apply("session=one; Path=/; HttpOnly").apply("up1=u1; Path=/").apply("up2=u2");
        assertEquals("session=one; up1=u1; up2=u2", jar.cookieHeader());
        jar.apply("session=two; Path=/");
        assertEquals("two", jar.get("session"));
        assertEquals("session=two; up1=u1; up2=u2", jar.cookieHeader());
        jar.apply("session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0");
        assertNull(jar.get("session"));
        assertEquals("up1=u1; up2=u2", jar.cookieHeader());
    }

    @Test
    void updateTakesEverySetCookieOfAResponse() {
        HttpHeaders h = HttpHeaders.of("Set-Cookie", "a=1", "X-Other", "y", "set-cookie", "b=2");
        CookieJar jar = new CookieJar().update(new ClientResponse(200, h, null));
        assertEquals("a=1; b=2", jar.cookieHeader());
        ClientRequest req = ClientRequest.get("/").cookies(jar);
        assertEquals("a=1; b=2", req.headers().get("cookie"));
        assertFalse(ClientRequest.get("/").cookies(new CookieJar()).headers().contains("Cookie"));
    }

    @Test
    void clientResponseFindsTheSetCookieOfAName() {
        HttpHeaders h = HttpHeaders.of("Set-Cookie", "up1=u1", "Set-Cookie", "session=abc; Path=/");
        ClientResponse r = new ClientResponse(200, h, null);
        assertEquals("session=abc; Path=/", r.setCookie("session"));
        assertNull(r.setCookie("nope"));
    }
}
