package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The runner forgets confs after {@code APISIX_CONF_EXPIRE_TIME} (+ grace, here 0); APISIX still
 * holds the token, gets CONF_TOKEN_NOT_FOUND, flushes, re-sends PrepareConf and succeeds. Conf
 * tokens age on the runner's clock, which the test moves ({@link ClockFile}) instead of waiting.
 */
class ConfExpiryIT {
    @Test
    void expiredTokenIsRefreshedTransparently() {
        try (ClockFile clock = ClockFile.create();
             RunnerProcess runner = E2e.start(E2e.runner().clock(clock).confExpireTime(1)
                     .env("SESSION_RUNNER_CONF_GRACE", "0"));
             SimulatedApisix apisix = E2e.gateway(runner)) {
            apisix.route(Route.uri("/none/*").preReq(E2e.session(E2e.conf("identity", "none"))));
            apisix.route(E2e.apisixRoute("/app/*"));

            Exchange first = apisix.send(ClientRequest.get("/none/a"));
            assertEquals(200, first.status(), why(first, runner));
            CookieJar anonymousJar = new CookieJar().update(first.response());
            CookieJar fionaJar = E2e.login(apisix, runner, "/app/login");
            assertFalse(first.transcriptContains("conf token not found"));

            clock.advance(Duration.ofSeconds(2));

            Exchange again = apisix.send(E2e.withCookies("/none/a", anonymousJar));
            assertEquals(200, again.status(), why(again, runner));
            assertTrue(again.transcriptContains("conf token not found"), "the old token was refused\n" + why(again, runner));
            assertTrue(again.transcriptContains("PrepareConf key=route#none#ext-plugin-pre-req#1"),
                    "PrepareConf re-sent\n" + why(again, runner));
            List<String> lines = again.transcript();
            int notFound = indexOf(lines, "conf token not found");
            int resent = indexOf(lines, "PrepareConf key=");
            assertTrue(resent > notFound, "re-sent after the error\n" + again.transcriptText());
            assertTrue(again.transcriptCount("HTTPReqCall id=") >= 2, "the call was retried");

            Exchange app = apisix.send(E2e.withCookies("/app/data", fionaJar));
            E2e.assertIdentity(app, runner, "fiona");
            assertTrue(apisix.tokenNotFoundCount() >= 1);
        }
    }

    private static int indexOf(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }
}
