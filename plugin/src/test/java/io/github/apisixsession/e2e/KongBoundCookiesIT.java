package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.apisixsession.core.codec.VectorSupport;
import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Cookies the real lua-resty-session 4.1.5 bound ({@code bind}, as Kong EE does) to IPv4 and IPv6
 * clients open from the client they were bound to and from no other, as the library said
 * (generate-bind/; IPv6 logins through both phases are in {@link ParityKongConfigIT}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KongBoundCookiesIT {
    /** generate-bind/generate.py's secret; its b2x vectors have no timeouts, so they open on today's clock. */
    private static final String KONG_SECRET = "kong-bind-vectors-secret-0123456789abcdef";

    private RunnerProcess runner;
    private SimulatedApisix apisix;

    @BeforeAll
    void start() {
        runner = E2e.start();
        apisix = E2e.gateway(runner)
                .route(Route.uri("/kong-ip/*").preReq(E2e.session(kongConf(List.of("ip")))))
                .route(Route.uri("/kong-all/*").preReq(E2e.session(kongConf(List.of("ip", "scheme", "user-agent")))));
    }

    @AfterAll
    void stop() {
        E2e.close(apisix, runner);
    }

    private static String kongConf(List<String> bind) {
        return E2e.conf("secret", KONG_SECRET, "identity", "upstream", "bind", bind, "reject_status", 401,
                "idling_timeout", 0, "rolling_timeout", 0, "absolute_timeout", 0);
    }

    static Stream<Arguments> kongOpens() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode v : VectorSupport.load(VectorSupport.BIND_RESOURCE)) {
            if (v.at("/config/absolute_timeout").asInt(-1) == 0) {
                v.get("opens").forEach(o -> out.add(Arguments.of(v.get("id").asText() + " from "
                        + o.at("/client/remote_addr").asText(), v, o)));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kongOpens")
    void aKongIssuedBoundCookieOpensWhereLuaRestySessionOpenedIt(String name, JsonNode v, JsonNode open) {
        String route = v.at("/config/bind").size() == 1 ? "/kong-ip/data" : "/kong-all/data";
        ClientRequest req = ClientRequest.get(route).setHeader("Cookie", open.get("cookie_header").asText())
                .remoteAddr(open.at("/client/remote_addr").asText())
                .scheme(open.at("/client/scheme").asText());
        String ua = open.at("/request_headers/User-Agent").asText(null);
        if (ua != null) {
            req.setHeader("User-Agent", ua);
        }
        Exchange ex = apisix.send(req);
        if (open.at("/expect/exists").asBoolean()) {
            E2e.assertOk(ex, runner, open.at("/expect/subject").asText());
        } else {
            assertEquals(401, ex.status(), name + "\n" + why(ex, runner));
            assertFalse(ex.upstreamCalled());
        }
    }
}
