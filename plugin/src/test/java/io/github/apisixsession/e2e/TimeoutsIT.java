package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SetCookie;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rolling refresh, idling and absolute timeouts, on both sides of each limit. The runner's time is
 * a {@link ClockFile} the test moves: nothing waits, and every check happens at an exact instant
 * (logins mid-second, checks a tenth of a second into the whole second the rule is about, as a
 * client would hit them; cookie times are whole seconds).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TimeoutsIT {
    private ClockFile clock;
    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        clock = ClockFile.create();
        runner = E2e.start(E2e.runner().clock(clock));
        apisix = E2e.gateway(runner);
        for (String storage : new String[] {"cookie", "memory"}) {
            apisix.route(E2e.apisixRoute("/roll-" + storage + "/*", "storage", storage, "rolling_timeout", 4,
                    "reject_status", 401));
            apisix.route(E2e.apisixRoute("/idle-" + storage + "/*", "storage", storage, "idling_timeout", 2,
                    "reject_status", 401));
            apisix.route(E2e.apisixRoute("/abs-" + storage + "/*", "storage", storage, "absolute_timeout", 3,
                    "reject_status", 401));
        }
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
        if (clock != null) {
            clock.close();
        }
    }

    /** rolling_timeout 4: a new session id only after more than ceil(0.75 × 4) = 3 whole seconds. */
    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void rollingRefreshIssuesANewSessionAfterThreeQuartersOfTheTimeout(String storage) {
        String base = "/roll-" + storage;
        long created = E2e.midSecond(clock);
        CookieJar jar = E2e.login(apisix, runner, base + "/login");
        String oldValue = jar.get("session");
        String oldCookieHeader = jar.cookieHeader();

        E2e.at(clock, created + 3);
        Exchange early = apisix.send(withCookies(base + "/data", jar));
        assertIdentity(early, runner, "fiona");
        assertNull(E2e.sessionSetCookie(early), "3 s is not more than 3 s: no refresh yet\n" + why(early, runner));

        E2e.at(clock, created + 4);
        Exchange ex = apisix.send(withCookies(base + "/data", jar));
        assertIdentity(ex, runner, "fiona");
        SetCookie renewed = E2e.sessionSetCookie(ex);
        assertNotNull(renewed, "refreshed after more than 3 s\n" + why(ex, runner));
        assertNotEquals(oldValue.substring(0, 48), renewed.value().substring(0, 48),
                "a new session id, not just a re-signed header");
        jar.update(ex.response());

        // the new cookie works, and so does the old one right after (stale_ttl / own timeouts)
        assertIdentity(apisix.send(withCookies(base + "/data", jar)), runner, "fiona");
        Exchange old = apisix.send(ClientRequest.get(base + "/data").cookie(oldCookieHeader));
        assertEquals(200, old.status(), "the previous cookie still works right after a refresh\n" + why(old, runner));
        assertIdentity(old, runner, "fiona");
    }

    /** idling_timeout 2: a cookie unused for 2 whole seconds still opens, for 3 it is rejected. */
    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void idlingTimeoutRejectsAnUnusedCookie(String storage) {
        String base = "/idle-" + storage;
        long created = E2e.midSecond(clock);
        CookieJar jar = E2e.login(apisix, runner, base + "/login");
        Exchange fresh = apisix.send(withCookies(base + "/data", jar));
        assertIdentity(fresh, runner, "fiona");
        jar.update(fresh.response());
        CookieJar untouched = new CookieJar().put("session", jar.get("session"));

        E2e.at(clock, created + 2);
        assertIdentity(apisix.send(withCookies(base + "/data", jar)), runner, "fiona");

        E2e.at(clock, created + 3);
        Exchange stale = apisix.send(withCookies(base + "/data", untouched));
        assertEquals(401, stale.status(), "idle for longer than idling_timeout\n" + why(stale, runner));
    }

    /** absolute_timeout 3: open at 3 whole seconds despite nothing, rejected at 4 despite activity. */
    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void absoluteTimeoutRejectsDespiteActivity(String storage) {
        String base = "/abs-" + storage;
        long created = E2e.midSecond(clock);
        CookieJar jar = E2e.login(apisix, runner, base + "/login");
        for (int s = 1; s <= 3; s++) {
            E2e.at(clock, created + s);
            Exchange ex = apisix.send(withCookies(base + "/data", jar));
            assertIdentity(ex, runner, "fiona");
            jar.update(ex.response());
        }
        E2e.at(clock, created + 4);
        Exchange late = apisix.send(withCookies(base + "/data", jar));
        assertEquals(401, late.status(), "past absolute_timeout despite activity\n" + why(late, runner));
        assertTrue(runner.logs().contains("TEST-ONLY CLOCK"), "the runner warns that its clock is the test's");
    }
}
