package io.github.apisixsession.benchmarks;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.memory.MemorySessionStorage;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The memory storage on its own: get (a hit among {@link #sessions} live entries), set (a new
 * session) and renew (a new entry plus the old one shortened to {@code stale_ttl}), with keys and
 * values shaped like the engine's ({@code session:<43 chars>}, {@code ["<base64url ciphertext>"]}).
 * Two threads, as the runner serves connections on many.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
@Threads(2)
public class MemoryStorageBenchmark {

    @Param({"10000", "1000000"})
    public int sessions;

    private static final Duration TTL = Duration.ofHours(1);
    private static final Duration STALE = Duration.ofSeconds(10);

    private MemorySessionStorage storage;
    private String[] keys;
    private byte[] value;

    @Setup
    public void setUp() throws StorageException {
        storage = new MemorySessionStorage(Math.max(100_000, sessions * 2L), Clock.systemUTC());
        keys = new String[sessions];
        value = storedValue(200);
        for (int i = 0; i < sessions; i++) {
            keys[i] = key(i);
            storage.set(keys[i], value, TTL);
        }
    }

    @TearDown
    public void tearDown() {
        storage.close();
    }

    static String key(long i) {
        byte[] sid = new byte[32];
        for (int b = 0; b < 8; b++) {
            sid[b] = (byte) (i >>> (8 * b));
        }
        sid[31] = (byte) 0x5a;
        return "session:" + Base64.getUrlEncoder().withoutPadding().encodeToString(sid);
    }

    /** The engine's stored value for a plaintext of {@code plaintextBytes}. */
    static byte[] storedValue(int plaintextBytes) {
        int b64 = (plaintextBytes * 4 + 2) / 3;
        return ("[\"" + "x".repeat(b64) + "\"]").getBytes(StandardCharsets.US_ASCII);
    }

    /** Per-thread random source and a counter for fresh keys. */
    @State(Scope.Thread)
    public static class Cursor {
        final SplittableRandom random = new SplittableRandom();
        long fresh = Thread.currentThread().getId() << 40;
    }

    @Benchmark
    public Optional<byte[]> get(Cursor c) {
        return storage.get(keys[c.random.nextInt(keys.length)]);
    }

    @Benchmark
    public void set(Cursor c) throws StorageException {
        storage.set(key(c.fresh++), value, TTL);
    }

    @Benchmark
    public void renew(Cursor c) {
        String old = keys[c.random.nextInt(keys.length)];
        storage.set(key(c.fresh++), value, TTL, new SessionStorage.Renewal(old, STALE), null);
    }
}
