package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import redis.clients.jedis.Jedis;

/**
 * Redis and PostgreSQL stopped under load and started again, through the runner process (issue #7).
 *
 * <p>Each storage gets a server of the test's own: a {@code redis-server} with an fsynced
 * append-only file, and a private PostgreSQL cluster ({@code initdb}, {@code pg_ctl}) on free
 * loopback ports. Two faults per storage, one after the other on the same runner, which is never
 * restarted: a crash ({@code SIGKILL} of Redis, {@code pg_ctl stop -m immediate} of PostgreSQL,
 * not clean shutdowns) followed by a start, and a hang ({@code SIGSTOP} of Redis, of the
 * postmaster and every backend) followed by {@code SIGCONT}. For each, 200 users log in, then 12
 * client threads send requests with those sessions (and log in anew now and then) for the whole
 * scenario while the fault lasts a few seconds and ends.
 *
 * <p>Asserted: before the fault and after the recovery every request answers 200 with the right
 * consumer; during the outage every answer is 200 (right consumer) or the route's non-default
 * {@code storage_error_status} with the JSON reason, no Set-Cookie and no upstream call (so the
 * runner answered every request itself: a request it held past the gateway's 60 s timeout would
 * get the gateway's own 503); the requests during a hang were ended by the configured timeouts,
 * which the runner's log names (how long each took is printed, not asserted); recovery within 30 s;
 * every session acknowledged before (and during) the load opens afterwards with its consumer; the
 * runner's threads and open files and the server's connections do not grow (counted before and
 * after); the runner logged the outage and the recovery, and no cookie, session id or storage key.
 * One {@code FAULTS …} line per storage prints the figures.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StorageFaultsUnderLoadIT {
    private static final int USERS = 200;
    private static final int CLIENTS = 12;
    /** Smaller than CLIENTS: requests also queue for a connection (pool_wait / connect_timeout). */
    private static final int POOL_SIZE = 8;
    private static final String REASON = "{\"message\":\"session storage unavailable\"}";
    private static final long WARM_UP_MS = 1500;
    private static final long OUTAGE_MS = 3000;
    private static final long AFTER_RECOVERY_MS = 2500;
    private static final long RECOVERY_LIMIT_MS = 30_000;
    /** After the first success, pooled connections torn by the fault may fail a request or two. */
    private static final long RECOVERY_GRACE_MS = 1000;
    private static final int THREAD_SLACK = 4;
    private static final int FD_SLACK = 6;
    private static final int CONN_SLACK = 1;
    private static final Pattern STORAGE_KEY = Pattern.compile("session:[A-Za-z0-9_-]{43}");

    private static final int REDIS_TIMEOUT_MS = 800;
    private static final int REDIS_STATUS = 599;

    private static final int PG_TIMEOUT_S = 1;
    private static final int PG_STATUS = 598;
    /** Only turns a client stuck for good into a failure; the clients' waits are not asserted. */
    private static final long HANG_GUARD_MS = 120_000;

    private TestRedisServer redis;
    private PrivatePostgres postgres;

    @AfterAll
    void cleanUp() throws Exception {
        try {
            if (redis != null) {
                redis.close();
            }
        } finally {
            if (postgres != null) {
                postgres.close();
            }
        }
    }

    // ================================================================ Redis

    @Test
    @RequiresService(RedisBinaries.class)
    void redisKilledAndHungUnderLoad() throws Exception {
        redis = TestRedisServer.start("redis-faults-it");
        int port = redis.port;
        Map<String, Object> redisConf = new LinkedHashMap<>();
        redisConf.put("port", port);
        redisConf.put("prefix", "faults");
        redisConf.put("connect_timeout", REDIS_TIMEOUT_MS);
        redisConf.put("read_timeout", REDIS_TIMEOUT_MS);
        redisConf.put("pool_wait", REDIS_TIMEOUT_MS);
        redisConf.put("pool_size", POOL_SIZE);
        // the pool's connections: not the client cache's tracking connection nor the shared-state
        // feed's, one each per storage and counted by their own tests
        Count connections = () -> {
            try (Jedis j = redis.jedis()) {
                return (int) j.clientList().lines().filter(l -> !l.isBlank())
                        .filter(l -> !l.contains(" name=apisix-session-tracking ") && !l.contains(" name=apisix-session-state "))
                        .count() - 1; // not this one
            }
        };
        Fault crash = new Fault("SIGKILL, restart", () -> {
            redis.signal("KILL");
            redis.awaitExit();
        }, redis::start, null);
        // a stopped Redis answers nothing: the read timeout (or the pool wait) ends each call
        Fault hang = new Fault("SIGSTOP, SIGCONT", () -> redis.signal("STOP"), () -> redis.signal("CONT"),
                "timed out");
        try (RunnerProcess runner = E2e.start(); SimulatedApisix apisix = gateway(runner)) {
            apisix.route(E2e.apisixRoute("/app/*", "storage", "redis", "redis", redisConf,
                    "reject_status", 401, "storage_error_status", REDIS_STATUS));
            List<Session> sessions = new ArrayList<>();
            for (Fault fault : List.of(crash, hang)) {
                Scenario s = new Scenario("redis", fault, runner, apisix, connections, REDIS_STATUS);
                s.run();
                sessions.addAll(s.sessions());
            }
            assertLogged(runner, "redis", sessions, "redis storage (127.0.0.1:" + port + ")", 2);
        }
    }

    // ================================================================ PostgreSQL

    @Test
    @RequiresService(PostgresBinaries.class)
    void postgresCrashedAndHungUnderLoad() throws Exception {
        postgres = PrivatePostgres.create();
        postgres.start();
        String database = "faults";
        postgres.execute("postgres", "CREATE DATABASE " + database);
        Map<String, Object> pgConf = new LinkedHashMap<>();
        pgConf.put("host", "127.0.0.1");
        pgConf.put("port", postgres.port);
        pgConf.put("database", database);
        pgConf.put("username", "postgres");
        pgConf.put("connect_timeout", PG_TIMEOUT_S);
        pgConf.put("query_timeout", PG_TIMEOUT_S);
        pgConf.put("pool_size", POOL_SIZE);
        // the cleanup's own connection would come and go during the counts; its thread is still there
        pgConf.put("cleanup_interval", 0);
        Count connections = () -> (int) postgres.queryLong("postgres",
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + database + "' AND pid <> pg_backend_pid() "
                        // the pool's connections: not the LISTEN connections (client cache, shared state)
                        + "AND application_name NOT IN ('apisix-session-listen', 'apisix-session-state')");
        Fault crash = new Fault("pg_ctl stop -m immediate, start", postgres::stopImmediate, postgres::start, null);
        // a stopped PostgreSQL answers nothing: connect_timeout (the pool) or query_timeout ends each call
        Fault hang = new Fault("SIGSTOP, SIGCONT of every server process", () -> postgres.signalAll("STOP"),
                () -> postgres.signalAll("CONT"), "timed out");
        try (RunnerProcess runner = E2e.start(); SimulatedApisix apisix = gateway(runner)) {
            apisix.route(E2e.apisixRoute("/app/*", "storage", "postgres", "postgres", pgConf,
                    "reject_status", 401, "storage_error_status", PG_STATUS));
            List<Session> sessions = new ArrayList<>();
            for (Fault fault : List.of(crash, hang)) {
                Scenario s = new Scenario("postgres", fault, runner, apisix, connections, PG_STATUS);
                s.run();
                sessions.addAll(s.sessions());
            }
            assertLogged(runner, "postgres", sessions, "postgres storage 127.0.0.1:" + postgres.port + "/", 2);
            long rows = postgres.queryLong(database, "SELECT count(*) FROM public.apisix_sessions WHERE expires_at > now()");
            assertTrue(rows >= sessions.size(), "a row per acknowledged login: " + rows + " < " + sessions.size());
        }
    }

    // ================================================================ the scenario

    @FunctionalInterface
    private interface Step {
        void run() throws Exception;
    }

    /** Client connections to the server under test, not counting the one asking. */
    @FunctionalInterface
    private interface Count {
        int get() throws Exception;
    }

    /** A fault of the server under test ({@code inject}) and its end ({@code heal}). */
    /** {@code endedBy}: what the runner's log must name as the end of the calls during the fault, or null. */
    private record Fault(String name, Step inject, Step heal, String endedBy) {
    }

    private record Session(String user, CookieJar jar, long acknowledgedAt) {
    }

    private record Result(long start, long end, int status, boolean login) {
        long millis() {
            return TimeUnit.NANOSECONDS.toMillis(end - start);
        }
    }

    private static String user(int i) {
        return "user" + i;
    }

    private static String key(int i) {
        return "faults-key-" + i;
    }

    private static SimulatedApisix gateway(RunnerProcess runner) {
        SimulatedApisix apisix = E2e.gateway(runner);
        for (int i = 0; i < USERS; i++) {
            apisix.consumer(Consumer.of(user(i), key(i)));
        }
        return apisix;
    }

    private static final class Scenario {
        private final String name;
        private final Fault fault;
        private final RunnerProcess runner;
        private final SimulatedApisix apisix;
        private final Count server;
        private final int errorStatus;
        private final List<Session> preFault = new ArrayList<>();
        private final List<Session> loadLogins = new CopyOnWriteArrayList<>();
        private final ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        /** When the fault ended (System.nanoTime), MAX_VALUE before. */
        private volatile long healedAt = Long.MAX_VALUE;
        /** The end of the first 200 of a request sent after the fault ended, 0 before. */
        private final java.util.concurrent.atomic.AtomicLong firstOkAfterHeal = new java.util.concurrent.atomic.AtomicLong();

        Scenario(String name, Fault fault, RunnerProcess runner, SimulatedApisix apisix, Count server, int errorStatus) {
            this.name = name;
            this.fault = fault;
            this.runner = runner;
            this.apisix = apisix;
            this.server = server;
            this.errorStatus = errorStatus;
        }

        /** Every session a login acknowledged (200 with a cookie), before the load and during it. */
        List<Session> sessions() {
            List<Session> all = new ArrayList<>(preFault);
            all.addAll(loadLogins);
            return all;
        }

        void run() throws Exception {
            for (int i = 0; i < USERS; i++) {
                Exchange ex = apisix.send(ClientRequest.get("/app/login").apikey(key(i)));
                E2e.assertOk(ex, runner, user(i));
                assertTrue(ex.response().setCookie("session") != null, "a session cookie\n" + E2e.why(ex, runner));
                preFault.add(new Session(user(i), new CookieJar().update(ex.response()), System.nanoTime()));
            }

            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
            List<Future<?>> clients = new ArrayList<>();
            long stopAt;
            long restartedAt;
            long recoveredAt;
            int logMark;
            Counts before;
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    clients.add(pool.submit(this::client));
                }
                Thread.sleep(WARM_UP_MS);
                before = Counts.of(runner, server, 3);

                logMark = runner.logs().length();
                stopAt = System.nanoTime();
                fault.inject().run();
                long downUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(OUTAGE_MS);
                while (System.nanoTime() < downUntil) {
                    assertTrue(runner.isAlive(), "the runner stays up during the outage\n" + runner.logs());
                    Thread.sleep(100);
                }
                fault.heal().run();
                restartedAt = System.nanoTime();
                healedAt = restartedAt;

                recoveredAt = awaitRecovery(restartedAt);
                Thread.sleep(AFTER_RECOVERY_MS);
            } finally {
                stop.set(true);
                pool.shutdown();
            }
            for (Future<?> f : clients) {
                f.get(HANG_GUARD_MS, TimeUnit.MILLISECONDS);
            }
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
            assertTrue(runner.isAlive(), "the runner stays up\n" + runner.logs());

            // phases: only 200 before the fault and after the recovery
            Map<Integer, Integer> statuses = new TreeMap<>();
            int duringOutage = 0;
            int errorsDuringOutage = 0;
            int errorsAfterRecovery = 0;
            long maxWait = 0;
            long maxWaitOutage = 0;
            long graceEnd = recoveredAt + TimeUnit.MILLISECONDS.toNanos(RECOVERY_GRACE_MS);
            for (Result r : results) {
                statuses.merge(r.status(), 1, Integer::sum);
                maxWait = Math.max(maxWait, r.millis());
                boolean ok = r.status() == 200;
                if (r.end() < stopAt && !ok) {
                    violation("before the fault: status " + r.status());
                }
                if (r.start() > graceEnd && !ok) {
                    violation("after the recovery: status " + r.status());
                }
                if (r.end() >= stopAt && r.start() <= recoveredAt) {
                    duringOutage++;
                    maxWaitOutage = Math.max(maxWaitOutage, r.millis());
                    if (!ok) {
                        errorsDuringOutage++;
                    }
                } else if (r.start() > recoveredAt && !ok) {
                    errorsAfterRecovery++;
                }
            }

            // 0 sessions lost: every acknowledged login opens with its consumer, with no restart of the runner
            long loadBeforeFault = loadLogins.stream().filter(l -> l.acknowledgedAt() < stopAt).count();
            int lostPreFault = lost(preFault);
            List<Session> loadBefore = loadLogins.stream().filter(l -> l.acknowledgedAt() < stopAt).toList();
            int lostLoadBefore = lost(loadBefore);
            List<Session> loadOther = loadLogins.stream().filter(l -> l.acknowledgedAt() >= stopAt).toList();
            int lostLoadOther = lost(loadOther);

            Counts after = Counts.settled(runner, server, before);
            String faultLogs = runner.logs().substring(logMark);
            if (fault.endedBy() != null && !faultLogs.contains(fault.endedBy())) {
                violation("no \"" + fault.endedBy() + "\" in the runner's log during the fault: the calls were not "
                        + "ended by the configured timeouts");
            }

            String line = String.format("FAULTS %s fault=\"%s\" requests=%d during-outage=%d statuses=%s "
                            + "errors-during-outage=%d errors-after-recovery=%d max-wait-ms=%d max-wait-outage-ms=%d "
                            + "fault-ms=%d recovered-after-ms=%d sessions-before=%d lost=%d "
                            + "load-logins-before-fault=%d lost=%d load-logins-after=%d lost=%d "
                            + "threads before/after=%d/%d fds before/after=%d/%d conns before/after=%d/%d pool_size=%d "
                            + "clients=%d most-concurrent-rpcs=%d",
                    name, fault.name(), results.size(), duringOutage,
                    statuses, errorsDuringOutage, errorsAfterRecovery, maxWait, maxWaitOutage,
                    TimeUnit.NANOSECONDS.toMillis(restartedAt - stopAt),
                    TimeUnit.NANOSECONDS.toMillis(recoveredAt - restartedAt), preFault.size(), lostPreFault,
                    loadBeforeFault, lostLoadBefore, loadOther.size(), lostLoadOther,
                    before.threads, after.threads, before.fds, after.fds, before.connections, after.connections, POOL_SIZE,
                    CLIENTS, apisix.pool().maxConcurrent());
            System.out.println(line);

            assertEquals(List.of(), List.copyOf(violations), line);
            assertTrue(errorsDuringOutage > 0, "the outage was seen: " + line);
            assertTrue(apisix.pool().maxConcurrent() > POOL_SIZE, "more requests at once than pooled connections: " + line);
            assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == errorStatus), line);
            assertEquals(0, lostPreFault + lostLoadBefore + lostLoadOther, "sessions lost: " + line);
            assertTrue(loadBeforeFault > 0, "sessions were written under load before the fault: " + line);
            assertTrue(after.threads <= before.threads + THREAD_SLACK, "threads leak: " + line);
            assertTrue(after.fds <= before.fds + FD_SLACK, "file descriptor leak: " + line);
            assertTrue(after.connections <= POOL_SIZE, "more server connections than pool_size: " + line);
            // the pool may grow up to pool_size while the fault's waiters retry (minimum idle 2, idle
            // timeout 10 min): a leak is more than that, or more than before when it was already full
            assertTrue(after.connections <= Math.max(before.connections + CONN_SLACK, POOL_SIZE),
                    "server connections leak: " + line);
            assertTrue(before.connections > 0, "the runner's connections are counted: " + line);
            assertTrue(runner.isAlive(), "the runner stays up");
        }

        /** One client: pre-fault sessions, and a new login one request in twenty. */
        private void client() {
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            while (!stop.get()) {
                boolean login = rnd.nextInt(20) == 0;
                Session session = null;
                String expected;
                ClientRequest request;
                if (login) {
                    int u = rnd.nextInt(USERS);
                    expected = user(u);
                    request = ClientRequest.get("/app/login").apikey(key(u));
                } else {
                    session = preFault.get(rnd.nextInt(preFault.size()));
                    expected = session.user();
                    request = E2e.withCookies("/app/data", session.jar());
                }
                long start = System.nanoTime();
                Exchange ex;
                try {
                    ex = apisix.send(request);
                } catch (RuntimeException e) {
                    violation("the gateway failed: " + e);
                    continue;
                }
                long end = System.nanoTime();
                results.add(new Result(start, end, ex.status(), login));
                if (ex.status() == 200 && start >= healedAt) {
                    firstOkAfterHeal.compareAndSet(0, end);
                }
                String problem = check(ex, expected, login);
                if (problem != null) {
                    violation(problem + "\n" + ex.transcriptText());
                } else if (ex.status() == 200 && login) {
                    loadLogins.add(new Session(expected, new CookieJar().update(ex.response()), end));
                } else if (ex.status() == 200 && ex.response().setCookie("session") != null) {
                    session.jar().update(ex.response());
                }
            }
        }

        private String check(Exchange ex, String expected, boolean login) {
            if (ex.status() == 200) {
                if (!ex.upstreamCalled() || !expected.equals(ex.upstreamHeader("X-Consumer-Username"))) {
                    return "200 for " + expected + " reached the upstream as " + ex.upstreamHeader("X-Consumer-Username");
                }
                if (login && ex.response().setCookie("session") == null) {
                    return "a login answered 200 without a session cookie";
                }
                return null;
            }
            if (ex.status() == errorStatus) {
                if (!REASON.equals(ex.body())) {
                    return "storage error with body " + ex.body();
                }
                String type = ex.header("Content-Type");
                if (type == null || !type.startsWith("application/json")) {
                    return "storage error with Content-Type " + type;
                }
                if (ex.upstreamCalled()) {
                    return "storage error, yet the upstream was called";
                }
                if (!ex.setCookies().isEmpty()) {
                    return "storage error with Set-Cookie " + ex.setCookies();
                }
                return null;
            }
            return "unexpected status " + ex.status() + " body " + ex.body();
        }

        private void violation(String what) {
            if (violations.size() < 10) {
                violations.add(what);
            }
        }

        private long awaitRecovery(long restartedAt) throws InterruptedException {
            Session probe = preFault.get(0);
            long deadline = restartedAt + TimeUnit.MILLISECONDS.toNanos(RECOVERY_LIMIT_MS);
            Exchange last = null;
            while (System.nanoTime() < deadline) {
                long start = System.nanoTime();
                last = apisix.send(E2e.withCookies("/app/data", probe.jar()));
                long end = System.nanoTime();
                results.add(new Result(start, end, last.status(), false));
                String problem = check(last, probe.user(), false);
                if (problem != null) {
                    violation("recovery probe: " + problem + "\n" + last.transcriptText());
                }
                if (last.status() != 200 && last.status() != errorStatus) {
                    throw new AssertionError("a session written before the fault answered " + last.status()
                            + " once the storage was back (lost?)\n" + E2e.why(last, runner));
                }
                if (last.status() == 200) {
                    long first = firstOkAfterHeal.get();
                    return first != 0 && first < end ? first : end;
                }
                Thread.sleep(50);
            }
            throw new AssertionError("no recovery within " + RECOVERY_LIMIT_MS + " ms\n" + E2e.why(last, runner));
        }

        /** How many of {@code sessions} no longer open with their consumer (checked 8 at a time). */
        private int lost(List<Session> sessions) throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Boolean>> opened = new ArrayList<>();
                for (Session s : sessions) {
                    opened.add(pool.submit(() -> {
                        Exchange ex = apisix.send(E2e.withCookies("/app/check", s.jar()));
                        return ex.status() == 200 && s.user().equals(ex.upstreamHeader("X-Consumer-Username"));
                    }));
                }
                int lost = 0;
                for (Future<Boolean> f : opened) {
                    if (!f.get(60, TimeUnit.SECONDS)) {
                        lost++;
                    }
                }
                return lost;
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * Each of the {@code faults} outages and recoveries was logged (lines starting with the
     * storage's {@code prefix}), the engine logged failed requests; no cookie, session id, storage
     * key, secret or stack trace is in the runner's logs.
     */
    private static void assertLogged(RunnerProcess runner, String storage, List<Session> sessions, String prefix, int faults) {
        String logs = runner.logs();
        long failing = logs.lines().filter(l -> l.contains(prefix) && l.contains("failing")).count();
        long recovered = logs.lines().filter(l -> l.contains(prefix) && l.contains("reachable again")).count();
        assertTrue(failing >= faults, "the runner logged each outage (" + prefix + "… failing): " + failing + "\n" + tail(logs));
        assertTrue(recovered >= faults,
                "the runner logged each recovery (" + prefix + "… reachable again): " + recovered + "\n" + tail(logs));
        assertTrue(logs.contains("session storage " + storage + " failing: "), "the engine logged the failed requests\n" + tail(logs));
        Matcher m = STORAGE_KEY.matcher(logs);
        boolean found = m.find();
        assertTrue(!found, "a storage key in the logs: " + (found ? m.group() : ""));
        assertTrue(!logs.contains(E2e.SECRET), "the secret in the logs");
        for (Session s : sessions) {
            String cookie = s.jar().get("session");
            assertTrue(!logs.contains(cookie), "a session cookie in the logs");
            assertTrue(!logs.contains(sessionId(cookie)), "a session id in the logs");
        }
        List<String> traces = logs.lines()
                .filter(l -> l.startsWith("\tat ") || l.startsWith("Caused by:") || l.contains("Exception in thread"))
                .limit(20).toList();
        assertEquals(List.of(), traces, "no stack trace in the logs\n" + tail(logs));
    }

    private static String tail(String logs) {
        return logs.length() > 6000 ? "…" + logs.substring(logs.length() - 6000) : logs;
    }

    /** The session id (header bytes 3–34) of a server-storage cookie, base64url as in the storage key. */
    static String sessionId(String cookie) {
        byte[] header = Base64.getUrlDecoder().decode(cookie.substring(0, 110));
        byte[] sid = java.util.Arrays.copyOfRange(header, 3, 35);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(sid);
    }

    // ================================================================ counts

    private record Counts(int threads, int fds, int connections) {
        static Counts of(RunnerProcess runner, Count server, int samples) throws Exception {
            int threads = 0;
            int fds = 0;
            int conns = 0;
            for (int i = 0; i < samples; i++) {
                threads = Math.max(threads, E2e.threadCount(runner.pid()));
                fds = Math.max(fds, E2e.openFileCount(runner.pid()));
                conns = Math.max(conns, server.get());
                Thread.sleep(100);
            }
            return new Counts(threads, fds, conns);
        }

        /** The counts once they settle at or below {@code before} plus slack (at most 15 s), else the last. */
        static Counts settled(RunnerProcess runner, Count server, Counts before) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            Counts c;
            do {
                Thread.sleep(250);
                c = of(runner, server, 1);
            } while (System.nanoTime() < deadline && (c.threads > before.threads + THREAD_SLACK
                    || c.fds > before.fds + FD_SLACK || c.connections > Math.max(before.connections + CONN_SLACK, POOL_SIZE)));
            return c;
        }
    }
}
