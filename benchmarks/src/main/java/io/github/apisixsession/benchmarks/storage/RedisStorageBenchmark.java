package io.github.apisixsession.benchmarks.storage;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.redis.RedisSessionStorage;
import io.github.apisixsession.storage.redis.RedisSessionStorageProvider;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * The Redis storage's get, set and renew (SET + PEXPIRE … LT in one pipeline) against the local
 * Redis ({@code REDIS_HOST}/{@code REDIS_PORT}, default 127.0.0.1:6379), with values the size the
 * engine stores (a 1-audience session: {@code ["<~250 base64url chars>"]}). Keys live under a
 * random prefix and are deleted afterwards. Compare with {@code redis-benchmark -t get,set}
 * from the same run; see docs/benchmarks.md. Each runs with the client cache off and on
 * ({@code -p clientCache=false|true}); with it on, {@code get} reads each key from Redis once and
 * then from memory, and writes also drop the local copy and bring an invalidation message back.
 *
 * <p>Run: {@code java -cp … io.github.apisixsession.benchmarks.storage.RedisStorageBenchmark [threads…]}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RedisStorageBenchmark {

    static final int KEYS = 10_000;
    static final Duration TTL = Duration.ofMinutes(10);
    static final Duration STALE = Duration.ofSeconds(10);

    /** {@code client_cache}: with it, {@code get} of a key read before is answered from the runner's memory. */
    @Param({"false", "true"})
    public boolean clientCache;

    private final String prefix = "bench-" + UUID.randomUUID();
    private SessionStorage storage;
    private byte[] value;
    private String[] keys;
    private final AtomicLong counter = new AtomicLong();

    @Setup(Level.Trial)
    public void setUp() throws StorageException {
        String host = System.getenv().getOrDefault("REDIS_HOST", "127.0.0.1");
        int port = Integer.parseInt(System.getenv().getOrDefault("REDIS_PORT", "6379"));
        Map<String, Object> conf = new HashMap<>(Map.of("host", host, "port", port, "prefix", prefix,
                "client_cache", clientCache));
        if (clientCache) {
            conf.put("client_cache_max_entries", 2 * KEYS); // every key fits: this measures hits
        }
        storage = new RedisSessionStorageProvider().create(StorageConfig.of("redis", conf), StorageContext.system());
        byte[] ciphertext = new byte[190];
        new SecureRandom().nextBytes(ciphertext);
        value = ("[\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(ciphertext) + "\"]")
                .getBytes(StandardCharsets.US_ASCII);
        keys = new String[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "session:" + sid();
            storage.set(keys[i], value, TTL);
        }
        if (clientCache) {
            warmCache();
        }
    }

    /** The steady state: tracking live and every key read once, so {@code get} measures hits. */
    private void warmCache() throws StorageException {
        RedisSessionStorage redis = (RedisSessionStorage) storage;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!redis.clientCacheStatistics().tracking()) {
            redis.get(keys[0]);
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the client cache is not tracking: " + redis.clientCacheStatistics());
            }
            Thread.onSpinWait();
        }
        for (String k : keys) {
            storage.get(k);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        storage.close();
        String host = System.getenv().getOrDefault("REDIS_HOST", "127.0.0.1");
        int port = Integer.parseInt(System.getenv().getOrDefault("REDIS_PORT", "6379"));
        try (JedisPooled raw = new JedisPooled(host, port)) {
            String cursor = ScanParams.SCAN_POINTER_START;
            do {
                ScanResult<String> page = raw.scan(cursor, new ScanParams().match(prefix + ":*").count(1000));
                if (!page.getResult().isEmpty()) {
                    raw.unlink(page.getResult().toArray(new String[0]));
                }
                cursor = page.getCursor();
            } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        }
    }

    private static String sid() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private String nextKey() {
        return keys[(int) (counter.getAndIncrement() % KEYS)];
    }

    /** A request with a cookie: one GET, or (client cache) a local read. */
    @Benchmark
    public Object get() throws StorageException {
        return storage.get(nextKey());
    }

    /** A login: one SET … PX (overwrites one of the keys, so the key count stays fixed). */
    @Benchmark
    public void set() throws StorageException {
        storage.set(nextKey(), value, TTL);
    }

    /**
     * A renewal: SET of the new key and PEXPIRE … LT of the old one, pipelined. The old key's TTL
     * is long again for the next round (the new key is written with the full TTL).
     */
    @Benchmark
    public void renew() throws StorageException {
        long n = counter.getAndIncrement();
        String newKey = keys[(int) (n % KEYS)];
        String oldKey = keys[(int) ((n + KEYS / 2) % KEYS)];
        storage.set(newKey, value, TTL, oldKey, STALE);
    }

    public static void main(String[] args) throws RunnerException {
        String[] threads = args.length == 0 ? new String[] {"1", "8"} : args;
        for (String t : threads) {
            Options opts = new OptionsBuilder()
                    .include(RedisStorageBenchmark.class.getName() + "\\.")
                    .forks(1)
                    .warmupIterations(3).warmupTime(org.openjdk.jmh.runner.options.TimeValue.seconds(2))
                    .measurementIterations(3).measurementTime(org.openjdk.jmh.runner.options.TimeValue.seconds(3))
                    .threads(Integer.parseInt(t))
                    .build();
            new Runner(opts).run();
        }
    }
}
