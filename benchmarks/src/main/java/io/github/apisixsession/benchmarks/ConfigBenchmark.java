package io.github.apisixsession.benchmarks;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.memory.MemorySessionStorageProvider;
import java.time.Clock;
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
 * Config parsing: what the runner does once per PrepareConf (per route, and per route × consumer
 * in ext-plugin-post-req), never per request. {@code parse} is JSON to {@link SessionConfig};
 * {@code parseAndPrepare} adds the codec (HKDF-Extract per secret) and the storage lookup.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class ConfigBenchmark {

    static final Map<String, String> CONFIGS = Map.of(
            "minimal", "{\"secret\": \"$env://SESSION_SECRET\"}",
            "typical", "{\"secret\": \"$env://SESSION_SECRET\", \"anonymous_consumer\": \"anon\", "
                    + "\"reject_status\": 401, \"cookie_same_site\": \"Strict\", \"idling_timeout\": 1800, "
                    + "\"rolling_timeout\": 7200, \"absolute_timeout\": 86400, \"logout_methods\": [\"POST\", \"DELETE\"], "
                    + "\"response_headers\": [\"id\", \"timeout\"]}",
            "memory", "{\"secret\": \"$env://SESSION_SECRET\", \"secret_fallbacks\": [\"old-secret-1\", \"old-secret-2\"], "
                    + "\"storage\": \"memory\", \"memory\": {\"max_entries\": 100000}, \"anonymous_consumer\": \"anon\", "
                    + "\"reject_status\": 401, \"stale_ttl\": 10, \"hash_storage_key\": true}");

    @Param({"minimal", "typical", "memory"})
    public String config;

    private String json;
    private SessionConfigParser parser;
    private SessionEngine engine;

    @Setup
    public void setUp() {
        json = CONFIGS.get(config);
        StorageContext context = new StorageContext(Clock.systemUTC(),
                name -> "SESSION_SECRET".equals(name) ? "a-benchmark-secret-of-32-characters!" : null);
        SessionStorages storages = new SessionStorages(List.of(new MemorySessionStorageProvider()), context);
        parser = new SessionConfigParser(context.environment(), Set.of("memory"), "process-secret");
        engine = new SessionEngine(Clock.systemUTC(), storages);
    }

    @TearDown
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    public SessionConfig parse() throws ConfigException {
        return parser.parse(json);
    }

    @Benchmark
    public SessionRoute parseAndPrepare() throws ConfigException {
        return engine.prepare(parser.parse(json));
    }
}
