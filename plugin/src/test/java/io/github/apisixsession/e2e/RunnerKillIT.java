package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.apisixsession.simulator.ClockFile;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;

/**
 * {@code kill -9} of the runner under load, twice, with sessions in cookie, Redis and PostgreSQL
 * storage on three routes of one runner. While the runner is down APISIX answers 503 ("failed to
 * connect to the unix socket", or "failed to receive" for an RPC cut by the kill); once it is back,
 * APISIX's cached conf tokens are unknown to the new process, so the first request gets
 * CONF_TOKEN_NOT_FOUND, APISIX flushes its tokens, re-sends PrepareConf and succeeds on the retry
 * (that first request is sent alone, the load paused for it, so its transcript shows all of it). Every session created
 * before a kill opens again after it, and sessions renewed (new id, rolling_timeout) just before the
 * first kill hold too.
 */
@RequiresService({SharedRedis.class, SharedPostgres.class})
class RunnerKillIT {

    static final int SESSIONS_PER_STORAGE = Integer.getInteger("kill.sessions", 50);
    static final int LOAD_THREADS = 4;
    /**
     * Renewal happens after 0.75 × this (whole seconds, strictly: 91 s after the login, on the
     * runner's clock, which the test moves). Long, because Redis and PostgreSQL keep the rows this
     * long in real time: on a loaded machine the renewals and both kills must fit in it.
     */
    static final int ROLLING_TIMEOUT = 120;
    static final int RENEWAL_SECONDS = (ROLLING_TIMEOUT * 3 + 3) / 4 + 1;
    static final String[] STORAGES = {"cookie", "redis", "pg"};

    record Session(String storage, CookieJar jar) {
    }

    /** One load request: when it started and ended (nanoTime), and what it got. */
    record Shot(long start, long end, String storage, int status, boolean fiona, String transcript) {
    }

    @Test
    void sessionsInEveryStorageSurviveTwoKillsUnderLoad() throws Exception {
        String redisPrefix = "kill-" + UUID.randomUUID();
        JedisPooled redis = new JedisPooled(SharedRedis.HOST, SharedRedis.PORT);
        String database = PostgresTestDatabase.get().createDatabase("kill");
        // the runner's time is the test's: the rolling sessions are renewed by moving it, and the
        // restarted process reads the same file, as a real restart keeps the wall clock
        try (ClockFile clock = ClockFile.create();
             RunnerProcess runner = E2e.start(PostgresStorageIT.runner().clock(clock));
             SimulatedApisix apisix = E2e.gateway(runner)) {
            Map<String, Object> redisConf = Map.of("host", SharedRedis.HOST, "port", SharedRedis.PORT,
                    "prefix", redisPrefix);
            for (boolean rolling : new boolean[] {false, true}) {
                String suffix = rolling ? "-roll" : "";
                Object[] extra = rolling ? new Object[] {"rolling_timeout", ROLLING_TIMEOUT} : new Object[0];
                apisix.route(E2e.apisixRoute("/cookie" + suffix + "/*", concat(extra, "reject_status", 401)));
                apisix.route(E2e.apisixRoute("/redis" + suffix + "/*",
                        concat(extra, "storage", "redis", "reject_status", 401, "redis", redisConf)));
                apisix.route(E2e.apisixRoute("/pg" + suffix + "/*", concat(extra, "storage", "postgres",
                        "postgres", PostgresStorageIT.postgres(database), "reject_status", 401)));
            }

            List<Session> sessions = new ArrayList<>();
            for (String storage : STORAGES) {
                for (int i = 0; i < SESSIONS_PER_STORAGE; i++) {
                    sessions.add(new Session(storage, E2e.login(apisix, runner, "/" + storage + "/login")));
                }
            }
            // logged in last: each is renewed 0.75 × rolling_timeout after its own login, right before the kill
            List<Session> renewing = new ArrayList<>();
            Map<Session, Long> renewedAt = new java.util.IdentityHashMap<>();
            long rollingLogin = E2e.midSecond(clock);
            long rollingLoginNanos = System.nanoTime();
            for (String storage : STORAGES) {
                for (int i = 0; i < 5; i++) {
                    renewing.add(new Session(storage, E2e.login(apisix, runner, "/" + storage + "-roll/login")));
                }
            }

            assertTrue(redis.keys(redisPrefix + "*").size() >= SESSIONS_PER_STORAGE + 5, "the sessions are in Redis");
            assertEquals(SESSIONS_PER_STORAGE + 5, PostgresStorageIT.sessionRows(database), "one row per session");

            ConcurrentLinkedQueue<Shot> shots = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicBoolean paused = new AtomicBoolean();
            AtomicInteger inFlight = new AtomicInteger();
            List<Thread> load = new ArrayList<>();
            for (int t = 0; t < LOAD_THREADS; t++) {
                Random random = new Random(t);
                Thread th = new Thread(() -> {
                    while (!stop.get()) {
                        if (paused.get()) {
                            E2e.sleepSeconds(0.01);
                            continue;
                        }
                        inFlight.incrementAndGet();
                        Session s = sessions.get(random.nextInt(sessions.size()));
                        long start = System.nanoTime();
                        Exchange ex = apisix.send(withCookies("/" + s.storage() + "/data", s.jar()));
                        boolean fiona = "fiona".equals(ex.upstreamHeader("X-Consumer-Username"));
                        shots.add(new Shot(start, System.nanoTime(), s.storage(), ex.status(), fiona,
                                ex.status() == 200 && !ex.transcriptContains("conf token not found")
                                        ? null : ex.transcriptText()));
                        inFlight.decrementAndGet();
                        if (ex.status() != 200) {
                            E2e.sleepSeconds(0.02); // no busy loop while the runner is down
                        }
                    }
                }, "load-" + t);
                th.start();
                load.add(th);
            }

            long previousUp = 0;
            int checked = 0;
            int lost = 0;
            List<String> figures = new ArrayList<>();
            for (int kill = 1; kill <= 2; kill++) {
                if (kill == 1) {
                    // renew the rolling sessions just before the kill: more than ceil(0.75 ×
                    // rolling_timeout) whole seconds after their login
                    E2e.at(clock, rollingLogin + RENEWAL_SECONDS);
                    for (Session s : renewing) {
                        String old = s.jar().get("session");
                        Exchange ex = apisix.send(withCookies("/" + s.storage() + "-roll/data", s.jar()));
                        // Redis and PostgreSQL count the rows' rolling_timeout in real time: the renewal must come sooner
                        assertEquals("fiona", ex.upstreamHeader("X-Consumer-Username"), String.format(
                                "renewal %.1f s (real time) after the logins%n%s",
                                (System.nanoTime() - rollingLoginNanos) / 1e9, why(ex, runner)));
                        s.jar().update(ex.response());
                        renewedAt.put(s, System.nanoTime());
                        assertFalse(old.equals(s.jar().get("session")), "renewed: a new cookie\n" + why(ex, runner));
                    }
                } else {
                    E2e.sleepSeconds(2);
                }
                long before = shots.size();
                long killStart = System.nanoTime();
                runner.kill();
                assertFalse(runner.isAlive());
                E2e.sleepSeconds(1.5);
                // the first request on the new process alone, so that its transcript is the whole story:
                // CONF_TOKEN_NOT_FOUND, a new PrepareConf, the retried HTTPReqCall, 200
                paused.set(true);
                while (inFlight.get() > 0) {
                    E2e.sleepSeconds(0.01);
                }
                long restartStart = System.nanoTime();
                runner.start();
                long up = System.nanoTime();
                Session probe = sessions.get(kill * 7 % sessions.size());
                Exchange first = apisix.send(withCookies("/" + probe.storage() + "/data", probe.jar()));
                E2e.assertIdentity(first, runner, "fiona");
                assertRetryTranscript(first.transcriptText());
                System.out.println("[RunnerKillIT] kill " + kill + ", the first request after the restart:\n"
                        + first.transcriptText());
                paused.set(false);
                E2e.sleepSeconds(1);

                // every session opens on the new process (and the renewed ones after the first kill)
                // the renewed ones first: their new rolling_timeout runs from the renewal
                List<Session> all = new ArrayList<>(kill == 1 ? renewing : List.of());
                all.addAll(sessions);
                for (Session s : all) {
                    String route = "/" + s.storage() + (renewing.contains(s) ? "-roll" : "") + "/data";
                    Exchange ex = apisix.send(withCookies(route, s.jar()));
                    checked++;
                    if (ex.status() != 200 || !"fiona".equals(ex.upstreamHeader("X-Consumer-Username"))) {
                        lost++;
                        Long renewed = renewedAt.get(s);
                        fail(String.format("kill %d: a session on %s did not open (%.1f s after the kill%s)%n%s", kill, route,
                                (System.nanoTime() - killStart) / 1e9,
                                renewed == null ? "" : String.format(", %.1f s after its renewal", (System.nanoTime() - renewed) / 1e9),
                                why(ex, runner)));
                    }
                }

                // the load around this kill
                int down503 = 0;
                int okAfter = 0;
                for (Shot shot : shots) {
                    if (shot.start() <= previousUp) {
                        continue; // judged with the previous kill
                    }
                    boolean overlapsDown = shot.end() >= killStart && shot.start() <= up;
                    if (shot.end() < killStart || shot.start() > up) {
                        if (shot.start() > up) {
                            okAfter += shot.status() == 200 ? 1 : 0;
                        }
                        assertTrue(shot.status() == 200 && shot.fiona(),
                                "kill " + kill + ": a request while the runner was up failed\n" + shot.transcript());
                    } else if (overlapsDown && shot.status() != 200) {
                        assertEquals(503, shot.status(), shot.transcript());
                        assertTrue(shot.transcript().contains("failed to connect to the unix socket")
                                        || shot.transcript().contains("failed to receive")
                                        || shot.transcript().contains("failed to send"),
                                "a 503 because the runner was gone\n" + shot.transcript());
                        if (shot.start() >= killStart && shot.end() <= restartStart) {
                            down503++;
                        }
                    }
                }
                assertTrue(down503 > 0, "kill " + kill + ": load ran into the down time");

                String f = String.format("kill %d: down %.1f s (kill to listening), %d load requests during it got 503, "
                                + "%d load requests since, all 200; %d sessions checked after the restart",
                        kill, (up - killStart) / 1e9, down503, okAfter, all.size());
                figures.add(f);
                previousUp = up;
                System.out.println("[RunnerKillIT] " + f + " (load so far " + (shots.size() - before) + " this round)");
            }
            stop.set(true);
            for (Thread th : load) {
                th.join(30_000);
            }
            System.out.printf("[RunnerKillIT] %d load requests in total, %d sessions checked, %d lost, "
                    + "%d CONF_TOKEN_NOT_FOUND retries%n", shots.size(), checked, lost, apisix.tokenNotFoundCount());
            assertEquals(0, lost);
            assertTrue(apisix.tokenNotFoundCount() >= 2, "at least one retry per kill");
            E2e.assertNoRunnerErrors(runner);
        } finally {
            for (String key : redis.keys(redisPrefix + "*")) {
                redis.del(key);
            }
            redis.close();
        }
    }

    /** The transcript lines in order: conf token not found, then a PrepareConf, then the 200. */
    static void assertRetryTranscript(String transcript) {
        String[] lines = transcript.split("\n");
        int notFound = -1;
        int prepare = -1;
        for (int i = 0; i < lines.length; i++) {
            if (notFound < 0 && lines[i].contains("conf token not found")) {
                notFound = i;
            } else if (notFound >= 0 && prepare < 0 && lines[i].contains("PrepareConf key=") && lines[i].contains("→ token")) {
                prepare = i;
            }
        }
        assertTrue(notFound >= 0 && prepare > notFound, "CONF_TOKEN_NOT_FOUND then a PrepareConf:\n" + transcript);
        boolean retried = false;
        for (int i = prepare + 1; i < lines.length; i++) {
            retried |= lines[i].contains("HTTPReqCall id=");
        }
        assertTrue(retried, "the HTTPReqCall is sent again after the PrepareConf:\n" + transcript);
        assertTrue(lines[lines.length - 1].startsWith("← 200"), "and it succeeds:\n" + transcript);
    }

    private static Object[] concat(Object[] a, Object... b) {
        Object[] out = new Object[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
