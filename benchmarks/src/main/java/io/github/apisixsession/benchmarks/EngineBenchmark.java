package io.github.apisixsession.benchmarks;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.memory.MemorySessionStorageProvider;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Get, set and renew on each storage, through the engine exactly as one HTTPReqCall runs it
 * (cookie parsing, codec, storage, identity headers, Set-Cookie rendering), without the socket:
 * <ul>
 *   <li>{@code get}: a request with a valid session cookie (the 90% case);</li>
 *   <li>{@code set}: a login, a new session for the consumer APISIX authenticated;</li>
 *   <li>{@code renew}: a valid cookie past 75% of the rolling timeout, saved under a new id (memory:
 *       the old entry is kept for {@code stale_ttl}).</li>
 * </ul>
 * Redis and PostgreSQL are added to {@link #storage} when their modules are merged.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class EngineBenchmark {

    @Param({"cookie", "memory"})
    public String storage;

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Instant FRESH = T0.plusSeconds(5);
    /** Past 75% of the default rolling timeout (3600 s): the session is renewed. */
    private static final Instant RENEW = T0.plusSeconds(2_800);

    private MutableClock clock;
    private SessionEngine engine;
    private SessionRoute route;
    private BenchRequest valid;
    private BenchRequest login;

    @Setup
    public void setUp() throws ConfigException, GatewayException {
        clock = new MutableClock(T0);
        StorageContext context = new StorageContext(clock, name -> null);
        SessionStorages storages = new SessionStorages(List.of(new MemorySessionStorageProvider()), context);
        engine = new SessionEngine(clock, storages);
        SessionConfigParser parser = new SessionConfigParser(context.environment(), Set.of("memory"), "process");
        route = engine.prepare(parser.parse("{\"secret\": \"a-benchmark-secret-of-32-characters!\", "
                + "\"storage\": \"" + storage + "\", \"anonymous_consumer\": \"anon\", \"reject_status\": 401, "
                // no idling timeout, so that a cookie 2800 s old is renewed rather than expired
                + "\"idling_timeout\": 0}"));
        login = new BenchRequest("GET", null, List.of(), Map.of("consumer_name", "fiona", "request_id", "r1"));
        String cookie = setCookie(engine.onRequest(route, login));
        valid = new BenchRequest("GET", cookie, List.of(new HttpHeader("page", "2")),
                Map.of("consumer_name", "anon", "request_id", "r2"));
        if (!get().toString().contains("X-Consumer-Username, value=fiona")) {
            throw new IllegalStateException("valid session not accepted: " + get());
        }
        if (setCookie(renew()) == null) {
            throw new IllegalStateException("session not renewed");
        }
    }

    @TearDown
    public void tearDown() {
        engine.close();
    }

    static String setCookie(RequestDecision decision) {
        if (decision instanceof RequestDecision.Proceed p) {
            for (HttpHeader h : p.responseHeaders()) {
                if (h.is("Set-Cookie")) {
                    return h.value().substring(0, h.value().indexOf(';'));
                }
            }
        }
        return null;
    }

    @Benchmark
    public RequestDecision get() throws GatewayException {
        clock.set(FRESH);
        return engine.onRequest(route, valid);
    }

    @Benchmark
    public RequestDecision set() throws GatewayException {
        clock.set(FRESH);
        return engine.onRequest(route, login);
    }

    @Benchmark
    public RequestDecision renew() throws GatewayException {
        clock.set(RENEW);
        return engine.onRequest(route, valid);
    }
}
