package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@code identity: "apisix"}: the session plugin in ext-plugin-post-req after key-auth. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IdentityApisixIT {
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner)
                .route(E2e.apisixRoute("/cookie/*"))
                .route(E2e.apisixRoute("/memory/*", "storage", "memory"))
                .route(E2e.apisixRoute("/insecure/*", "cookie_secure", false));
    }

    @AfterAll
    void stop() {
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
    }

    @Test
    void realConsumerWithoutCookieGetsASessionCookie() {
        Exchange ex = apisix.send(ClientRequest.get("/cookie/anything").apikey(E2e.FIONA_KEY));
        assertEquals(200, ex.status(), why(ex, runner));
        assertIdentity(ex, runner, "fiona");
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertNotNull(sc, "Set-Cookie: session=…\n" + why(ex, runner));
        assertTrue(sc.value().length() >= 110, "82-byte header in base64url plus ciphertext: " + sc.value());
        assertTrue(sc.value().matches("[A-Za-z0-9_-]+"), "base64url: " + sc.value());
        assertEquals("/", sc.attribute("Path"));
        assertEquals("Strict", sc.attribute("SameSite"));
        assertTrue(sc.httpOnly(), "HttpOnly");
        assertTrue(sc.secure(), "Secure by default");
        assertFalse(sc.deletes());
        // Rewrite resp_headers keep the upstream's own headers
        assertEquals("upstream-value", ex.header("X-Up"));
        assertEquals("application/json", ex.header("Content-Type"));
    }

    @Test
    void cookieAloneRestoresTheIdentityOfAnAnonymousRequest() {
        CookieJar jar = E2e.login(apisix, runner, "/cookie/login");
        for (int i = 0; i < 3; i++) {
            Exchange ex = apisix.send(withCookies("/cookie/data", jar));
            assertEquals(200, ex.status(), why(ex, runner));
            assertIdentity(ex, runner, "fiona");
            String cred = ex.upstreamHeader("X-Credential-Identifier");
            if (cred != null) {
                assertEquals(E2e.FIONA_CREDENTIAL, cred, why(ex, runner));
            }
            assertNull(E2e.sessionSetCookie(ex), "nothing to renew: no new cookie\n" + why(ex, runner));
        }
    }

    @Test
    void anonymousClientCannotForgeTheConsumerHeader() {
        Exchange ex = apisix.send(ClientRequest.get("/cookie/data")
                .header("X-Consumer-Username", "mallory")
                .header("X-Credential-Identifier", "forged"));
        assertEquals(200, ex.status(), why(ex, runner));
        assertTrue(ex.upstreamCalled());
        assertNotEquals("mallory", ex.upstreamHeader("X-Consumer-Username"));
        assertNull(ex.upstreamHeader("X-Consumer-Username"),
                "the anonymous consumer's identity is not trusted: removed\n" + why(ex, runner));
        assertNotEquals("forged", ex.upstreamHeader("X-Credential-Identifier"));
    }

    @Test
    void forgedHeaderWithAValidCookieIsReplacedByTheSessionIdentity() {
        CookieJar jar = E2e.login(apisix, runner, "/cookie/login");
        Exchange ex = apisix.send(withCookies("/cookie/data", jar).header("X-Consumer-Username", "mallory"));
        assertIdentity(ex, runner, "fiona");
        assertEquals(1, ex.upstreamRequest().headerValues("X-Consumer-Username").size());
    }

    @Test
    void realConsumerKeepsTheValuesApisixSet() {
        Exchange ex = apisix.send(ClientRequest.get("/cookie/data").apikey(E2e.FIONA_KEY)
                .header("X-Consumer-Username", "mallory"));
        assertIdentity(ex, runner, "fiona");
        assertEquals(E2e.FIONA_CREDENTIAL, ex.upstreamHeader("X-Credential-Identifier"), why(ex, runner));
    }

    @Test
    void memoryStorageCookieIsTheHeaderOnly() {
        Exchange ex = apisix.send(ClientRequest.get("/memory/login").apikey(E2e.FIONA_KEY));
        assertEquals(200, ex.status(), why(ex, runner));
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertNotNull(sc, why(ex, runner));
        assertEquals(110, sc.value().length(), "82 bytes in base64url, no ciphertext: " + sc.value());
        CookieJar jar = new CookieJar().update(ex.response());
        Exchange again = apisix.send(withCookies("/memory/data", jar));
        assertIdentity(again, runner, "fiona");
        assertNull(E2e.sessionSetCookie(again), why(again, runner));
    }

    @Test
    void cookieSecureFalseDropsTheSecureAttribute() {
        Exchange ex = apisix.send(ClientRequest.get("/insecure/login").apikey(E2e.FIONA_KEY));
        SetCookie sc = E2e.sessionSetCookie(ex);
        assertNotNull(sc, why(ex, runner));
        assertFalse(sc.secure(), "no Secure with cookie_secure=false");
        assertTrue(sc.httpOnly());
        assertEquals("Strict", sc.attribute("SameSite"));
    }

    @Test
    void postReqGetsOnePrepareConfPerConsumer() {
        E2e.login(apisix, runner, "/cookie/x");
        apisix.send(ClientRequest.get("/cookie/y"));
        assertTrue(apisix.cachedTokens().containsKey("route&consumer#cookie&fiona#ext-plugin-post-req#1&1"),
                apisix.cachedTokens().toString());
        assertTrue(apisix.cachedTokens().containsKey("route&consumer#cookie&anon#ext-plugin-post-req#1&1"),
                apisix.cachedTokens().toString());
    }
}
