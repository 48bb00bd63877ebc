package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Resource bounds through the real runner: 10,000 distinct route confs against a conf cache of
 * 1,000 (old tokens get CONF_TOKEN_NOT_FOUND, a re-send works, the heap stays small), and 64 KB
 * request headers (no 5xx, no crash).
 */
class HostileBoundsIT {

    static final int ROUTES = Integer.getInteger("hostile.routes", 10_000);

    @Test
    void tenThousandConfsAgainstACacheOfAThousandAnd64KbHeaders() throws Exception {
        try (RunnerProcess runner = E2e.start(E2e.runner().env("SESSION_RUNNER_CONF_CAPACITY", "1000"));
             SimulatedApisix apisix = E2e.gateway(runner)) {
            for (int i = 0; i < ROUTES; i++) {
                apisix.route(Route.uri("/r" + i + "/*").preReq(E2e.session(E2e.conf("identity", "none",
                        "audience", "aud-" + i, "cookie_secure", false))));
            }
            CookieJar first = null;
            for (int i = 0; i < ROUTES; i++) {
                Exchange ex = apisix.send(ClientRequest.get("/r" + i + "/x"));
                assertEquals(200, ex.status(), "route " + i + "\n" + why(ex, runner));
                if (i == 0) {
                    first = new CookieJar().update(ex.response());
                }
            }
            assertTrue(runner.isAlive());
            // route 0's token was evicted long ago: the runner says so, APISIX re-sends, the session opens
            Exchange again = apisix.send(E2e.withCookies("/r0/x", first));
            assertEquals(200, again.status(), why(again, runner));
            assertTrue(again.transcriptContains("conf token not found"), "evicted token refused\n" + why(again, runner));
            assertTrue(again.transcriptContains("PrepareConf key="), "conf re-sent\n" + why(again, runner));
            assertTrue(again.setCookies().isEmpty() || again.response().setCookie("session") == null,
                    "the anonymous session of route 0 still opens (no new cookie)\n" + why(again, runner));

            String big = "A".repeat(64 * 1024);
            for (String cookie : new String[] {"session=" + big, big, "c=1; ".repeat(13_000),
                    "session=" + first.get("session") + "; pad=" + big}) {
                Exchange ex = apisix.send(ClientRequest.get("/r1/x").cookie(cookie).header("X-Big", big));
                assertTrue(ex.status() < 500, "no 5xx for a 64 KB header\n" + why(ex, runner));
            }
            assertTrue(runner.isAlive());
            long rssKb = rssKb(runner.pid());
            System.out.println("HOSTILE bounds routes=" + ROUTES + " rss-kb=" + rssKb
                    + " token-not-found=" + apisix.tokenNotFoundCount());
            assertTrue(rssKb < 700_000, "resident memory stays sane with -Xmx256m: " + rssKb + " kB");
            E2e.assertNoRunnerErrors(runner);
        }
    }

    private static long rssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
