package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.assertIdentity;
import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;

/**
 * Redis down and back, through the runner: while a test-owned {@code redis-server} is paused
 * (SIGSTOP) or stopped, requests get the route's {@code storage_error_status} (503) with a JSON
 * reason within the configured timeouts; the runner stays up, and once Redis is back the same
 * cookie works again: nothing written before the outage is lost (the stop/restart keeps its
 * append-only file).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisOutageIT {
    /** Long enough that a loaded machine does not time out a healthy Redis. */
    private static final int TIMEOUT_MS = 800;
    /** connect + read + pool wait, plus a generous margin for a loaded CI machine. */
    private static final long BOUND_MS = 3L * TIMEOUT_MS + 1500;

    private Path dir;
    private int port;
    private Process redis;
    private RunnerProcess runner;
    private SimulatedApisix apisix;
    private CookieJar jar;

    @BeforeAll
    void start() throws Exception {
        if (!binaryAvailable()) {
            String msg = "redis-server is not installed (apt-get install redis-server)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(msg);
            }
            abort(msg);
        }
        dir = Files.createTempDirectory("redis-outage-it-");
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        startRedis();
        runner = E2e.start();
        apisix = E2e.gateway(runner);
        apisix.route(E2e.apisixRoute("/app/*", "storage", "redis", "reject_status", 401,
                "redis", Map.of("port", port, "prefix", "outage", "connect_timeout", TIMEOUT_MS,
                        "read_timeout", TIMEOUT_MS, "pool_wait", TIMEOUT_MS)));
        jar = E2e.login(apisix, runner, "/app/login");
    }

    @AfterAll
    void stop() throws Exception {
        if (apisix != null) {
            apisix.close();
        }
        if (runner != null) {
            runner.close();
        }
        if (redis != null && redis.isAlive()) {
            signal("CONT");
            redis.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static boolean binaryAvailable() {
        try {
            Process p = new ProcessBuilder("redis-server", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private void startRedis() throws Exception {
        redis = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--logfile", dir.resolve("redis.log").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Jedis j = new Jedis("127.0.0.1", port)) {
                if ("PONG".equals(j.ping())) {
                    return;
                }
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline || !redis.isAlive()) {
                    throw new IOException("redis-server did not start: " + Files.readString(dir.resolve("stdout.log")), e);
                }
                Thread.sleep(50);
            }
        }
    }

    private void signal(String name) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + name, Long.toString(redis.pid())).inheritIO().start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0, "kill -" + name);
    }

    /** Each request during the outage: 503, a JSON reason, the upstream not called, a bounded wait. */
    private void assertUnavailable(ClientRequest request) {
        long start = System.nanoTime();
        Exchange ex = apisix.send(request);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(503, ex.status(), why(ex, runner));
        assertEquals("{\"message\":\"session storage unavailable\"}", ex.body(), why(ex, runner));
        assertTrue(ex.header("Content-Type").startsWith("application/json"), why(ex, runner));
        assertTrue(!ex.upstreamCalled(), "the upstream is not called");
        assertTrue(took < BOUND_MS, "the request waited " + took + " ms (bound " + BOUND_MS + ")");
    }

    @Test
    @Order(1)
    void pausedRedisAnswers503AndTheSessionWorksAgainAfter() throws Exception {
        assertIdentity(apisix.send(withCookies("/app/data", jar)), runner, "fiona");
        signal("STOP");
        try {
            for (int i = 0; i < 3; i++) {
                assertUnavailable(withCookies("/app/data", jar));
            }
            assertUnavailable(ClientRequest.get("/app/login").apikey(E2e.FIONA_KEY));
            assertTrue(runner.isAlive(), "the runner stays up");
        } finally {
            signal("CONT");
        }
        Exchange back = apisix.send(withCookies("/app/data", jar));
        assertIdentity(back, runner, "fiona");
        jar.update(back.response());
    }

    @Test
    @Order(2)
    void stoppedRedisAnswers503AndARestartedOneKeepsTheSessions() throws Exception {
        try (Jedis j = new Jedis("127.0.0.1", port)) {
            j.shutdown(); // writes nothing more: appendfsync always already has every session on disk
        } catch (RuntimeException e) {
            // the connection drops as it exits
        }
        assertTrue(redis.waitFor(10, TimeUnit.SECONDS), "redis stopped");
        for (int i = 0; i < 3; i++) {
            assertUnavailable(withCookies("/app/data", jar));
        }
        assertTrue(runner.isAlive(), "the runner stays up");

        startRedis();
        Exchange back = apisix.send(withCookies("/app/data", jar));
        assertIdentity(back, runner, "fiona");
        assertTrue(runner.logs().contains("reachable again"), "the runner logged the recovery\n" + runner.logs());
        List<String> lines = runner.logs().lines().filter(l -> l.contains("outage:session:")).toList();
        assertEquals(List.of(), lines, "no session key in the logs");
    }
}
