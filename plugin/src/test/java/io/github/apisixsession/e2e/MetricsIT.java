package io.github.apisixsession.e2e;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runner's Prometheus endpoint counts what the session plugin did. */
class MetricsIT {

    @Test
    void countersFollowTheTraffic() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        try (RunnerProcess runner = E2e.start(E2e.runner().env("SESSION_METRICS_ADDRESS", "127.0.0.1:" + port));
             SimulatedApisix apisix = E2e.gateway(runner)
                     .route(E2e.apisixRoute("/app/*", "storage", "memory", "reject_status", 401))) {
            CookieJar jar = E2e.login(apisix, runner, "/app/login");
            assertEquals(200, apisix.send(E2e.withCookies("/app/data", jar)).status());
            assertEquals(401, apisix.send(ClientRequest.get("/app/data").cookie("session=forged")).status());
            assertEquals(401, apisix.send(ClientRequest.get("/app/data")).status());
            assertEquals(200, apisix.send(ClientRequest.post("/app/x?session_logout").cookies(jar)).status());

            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            String text = r.body();
            assertEquals(200, r.statusCode());
            assertTrue(text.contains("\napisix_session_created_total 1\n"), text);
            assertTrue(text.contains("\napisix_session_logged_out_total 1\n"), text);
            assertTrue(text.contains("apisix_session_rejected_total{reason=\"invalid\"} 1\n"), text);
            // each refused request is counted once, under one reason: the reasons sum to the refusals
            assertTrue(text.contains("apisix_session_refused_total{reason=\"invalid\"} 1\n"), text);
            assertTrue(text.contains("apisix_session_refused_total{reason=\"no_session\"} 1\n"), text);
            assertEquals(2, sum(text, "apisix_session_refused_total{"), text);
            assertEquals(1, sum(text, "apisix_session_rejected_total{"), text);
            assertTrue(text.contains("apisix_session_storage_seconds_count{operation=\"set\"} 1\n"), text);
            assertTrue(runner.logs().contains("metrics on http://127.0.0.1:" + port + "/metrics"), runner.logs());
        }
    }

    private static long sum(String text, String prefix) {
        long sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(prefix)) {
                sum += Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    @Test
    void aNonLoopbackAddressIsRefusedAtStart() throws Exception {
        RunnerProcess runner = null;
        try {
            runner = E2e.runner().env("SESSION_METRICS_ADDRESS", "0.0.0.0:9464").startTimeout(java.time.Duration.ofSeconds(5))
                    .start();
        } catch (java.io.IOException expected) {
            // the runner exits before its socket accepts connections
            assertTrue(expected.getMessage().contains("loopback"), expected.getMessage());
            return;
        } finally {
            if (runner != null) {
                runner.close();
            }
        }
        throw new AssertionError("the runner started with a metrics endpoint on 0.0.0.0");
    }
}
