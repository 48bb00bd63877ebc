package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** 32 clients at once, each with its own consumer and session, 50 requests each. */
class ConcurrencyIT {
    private static final int CLIENTS = 32;
    private static final int REQUESTS = 50;

    @ParameterizedTest
    @ValueSource(strings = {"cookie", "memory"})
    void concurrentClientsEachKeepTheirOwnIdentity(String storage) throws Exception {
        try (RunnerProcess runner = E2e.start(); SimulatedApisix apisix = E2e.gateway(runner)) {
            for (int i = 0; i < CLIENTS; i++) {
                apisix.consumer(Consumer.of("user" + i, "key-" + i));
            }
            apisix.route(E2e.apisixRoute("/app/*", "storage", storage));
            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
            CountDownLatch go = new CountDownLatch(1);
            try {
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < CLIENTS; i++) {
                    String user = "user" + i;
                    String key = "key-" + i;
                    results.add(pool.submit(() -> {
                        go.await();
                        CookieJar jar = new CookieJar();
                        Exchange login = apisix.send(ClientRequest.get("/app/login").apikey(key));
                        if (login.status() != 200 || !user.equals(login.upstreamHeader("X-Consumer-Username"))) {
                            return user + " login failed\n" + why(login, runner);
                        }
                        jar.update(login.response());
                        if (jar.get("session") == null) {
                            return user + " got no session cookie\n" + why(login, runner);
                        }
                        for (int n = 1; n < REQUESTS; n++) {
                            Exchange ex = apisix.send(E2e.withCookies("/app/r" + n, jar));
                            if (ex.status() != 200 || !user.equals(ex.upstreamHeader("X-Consumer-Username"))) {
                                return user + " request " + n + " saw " + ex.upstreamHeader("X-Consumer-Username")
                                        + " status " + ex.status() + "\n" + why(ex, runner);
                            }
                            jar.update(ex.response());
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<String> f : results) {
                    String failure = f.get(120, TimeUnit.SECONDS);
                    assertEquals(null, failure, failure);
                }
            } finally {
                pool.shutdownNow();
            }
            assertTrue(apisix.pool().maxConcurrent() > 1, "requests ran on several connections at once");
            assertTrue(runner.isAlive());
        }
    }
}
