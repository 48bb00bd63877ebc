package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.core.codec.Base64Url;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * With every logger at TRACE, a full flow (login, requests, renewal, logout, a bad conf whose
 * secret is a marker, Redis with a wrong password marker, garbage cookies) leaves no secret, no
 * password, no cookie value and no session id in the runner's output.
 */
class HostileLogsIT {

    static final String BAD_CONF_SECRET = "BADCONF-SECRET-MARKER-4c1d2e3f5a6b7c8d";
    static final String REDIS_PASSWORD = "REDIS-PASSWORD-MARKER-9a8b7c6d5e4f";

    @Test
    void noSecretCookieOrSessionIdInTraceLogs() throws Exception {
        ClockFile clock = ClockFile.create();
        RunnerProcess runner = E2e.start(E2e.runner().clock(clock)
                .jvmArg("-Dorg.slf4j.simpleLogger.defaultLogLevel=trace"));
        SimulatedApisix apisix = E2e.gateway(runner);
        Set<String> issued = new LinkedHashSet<>();
        String logs;
        try {
            apisix.route(E2e.apisixRoute("/app/*", "rolling_timeout", 8, "cookie_secure", false));
            apisix.route(E2e.apisixRoute("/mem/*", "storage", "memory", "cookie_secure", false));
            apisix.route(Route.uri("/bad").preReq(E2e.session("{\"secret\":\"" + BAD_CONF_SECRET
                    + "\",\"idling_timeout\":\"soon\",\"secret_fallbacks\":[\"" + BAD_CONF_SECRET + "-old\"]}")));
            apisix.route(E2e.apisixRoute("/redis/*", "storage", "redis", "cookie_secure", false,
                    "redis", Map.of("host", "127.0.0.1", "port", 6379, "password", REDIS_PASSWORD, "prefix", "hostile-logs")));

            long created = E2e.midSecond(clock);
            CookieJar app = E2e.login(apisix, runner, "/app/login");
            collect(issued, app);
            CookieJar mem = E2e.login(apisix, runner, "/mem/login");
            collect(issued, mem);
            for (int i = 0; i < 3; i++) {
                E2e.assertOk(apisix.send(E2e.withCookies("/app/x", app)), runner, "fiona");
                E2e.assertOk(apisix.send(E2e.withCookies("/mem/x", mem)), runner, "fiona");
            }
            // 7 s after the login: past ceil(0.75 * 8) = 6, before 8, so the next request renews
            E2e.at(clock, created + 7);
            Exchange renewed = apisix.send(E2e.withCookies("/app/x", app));
            E2e.assertOk(renewed, runner, "fiona");
            String before = app.get("session");
            app.update(renewed.response());
            assertNotEquals(before, app.get("session"), "renewed\n" + E2e.why(renewed, runner));
            collect(issued, app);

            Exchange bad = apisix.send(ClientRequest.get("/bad"));
            assertEquals(503, bad.status());
            assertTrue(runner.awaitLog("idling_timeout", java.time.Duration.ofSeconds(5)));
            Exchange redis = apisix.send(ClientRequest.get("/redis/login").apikey(E2e.FIONA_KEY));
            assertTrue(redis.status() >= 500 || redis.status() == 200, redis.toString());

            for (String garbage : List.of("session=" + "A".repeat(110), "session=" + app.get("session") + "x",
                    "session=%%%; session2=zzz", "session=" + "\u00e9".repeat(200), "session=" + "A".repeat(5000))) {
                apisix.send(ClientRequest.get("/app/x").cookie(garbage));
                apisix.send(ClientRequest.get("/mem/x").cookie(garbage));
            }
            Exchange out = apisix.send(ClientRequest.post("/app/x?session_logout").cookies(app));
            assertEquals(200, out.status(), E2e.why(out, runner));
            Exchange outMem = apisix.send(ClientRequest.post("/mem/x?session_logout").cookies(mem));
            assertEquals(200, outMem.status(), E2e.why(outMem, runner));
            Exchange replay = apisix.send(E2e.withCookies("/app/x", app));
            E2e.assertIdentity(replay, runner, null);
            apisix.close();
            apisix = null;
            runner.stop(); // the shutdown's lines too
        } finally {
            logs = runner.logs();
            E2e.close(apisix, runner);
            clock.close();
        }
        assertTrue(logs.contains("DEBUG") || logs.contains("TRACE"), "trace logging is on:\n" + logs);
        List<String> secrets = List.of(E2e.SECRET, BAD_CONF_SECRET, REDIS_PASSWORD, E2e.FIONA_KEY);
        for (String s : secrets) {
            assertTrue(!logs.contains(s), "secret in logs: " + s);
        }
        assertTrue(issued.size() >= 6, "values collected: " + issued.size());
        for (String s : issued) {
            assertTrue(!logs.contains(s), "cookie value or session id in logs: " + s + "\n" + logs);
        }
        assertTrue(logs.contains("redis write failed"), "the Redis auth failure was exercised and logged:\n" + logs);
        assertTrue(logs.contains("session rejected"), "garbage cookies were exercised:\n" + logs);
        System.out.println("HOSTILE logs-clean bytes=" + logs.length() + " values-checked=" + (issued.size() + secrets.size()));
    }

    /** The creation time in the cookie's header: 5 little-endian bytes at offset 35. */

    /** The cookie value, its 110-character header and its session id (base64url and hex). */
    private static void collect(Set<String> issued, CookieJar jar) throws Exception {
        String v = jar.get("session");
        issued.add(v);
        issued.add(v.substring(0, 110));
        if (v.length() > 150) {
            issued.add(v.substring(110, 150));
        }
        byte[] sid = Arrays.copyOfRange(Base64Url.decode(v.substring(0, 110)), 3, 35);
        issued.add(Base64Url.encode(sid));
        issued.add(HexFormat.of().formatHex(sid));
    }
}
