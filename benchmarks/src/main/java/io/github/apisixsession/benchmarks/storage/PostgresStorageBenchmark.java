package io.github.apisixsession.benchmarks.storage;

import io.github.apisixsession.storage.SessionStorage.Renewal;
import io.github.apisixsession.storage.postgres.PostgresSessionStorage;
import io.github.apisixsession.storage.postgres.PostgresSessionStorageProvider;
import io.github.apisixsession.storage.postgres.PostgresSettings;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * The PostgreSQL storage's get / set / renew, one thread, against a real server, with
 * {@link #rows} sessions already in the table (lookup latency must not grow with it).
 *
 * <p>Server: system properties {@code pg.host} (127.0.0.1), {@code pg.port} (5432),
 * {@code pg.user} (postgres), {@code pg.password}. A scratch database
 * {@code apisix_session_bench_<rows>} is created and dropped. Keys and values look like the
 * engine's: {@code session:<43 base64url chars>} and {@code ["<~200 base64url chars>"]}.
 * See docs/benchmarks.md for the command and the figures.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class PostgresStorageBenchmark {

    @Param({"10000", "1000000"})
    public int rows;

    private static final int KEYSPACE_SAMPLE = 4096;

    private PostgresSessionStorage storage;
    private String database;
    private String[] existing;
    private byte[] value;
    private final SecureRandom random = new SecureRandom();

    private static String prop(String name, String fallback) {
        String v = System.getProperty(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    private static Connection admin(String db) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", prop("pg.user", "postgres"));
        if (System.getProperty("pg.password") != null) {
            p.setProperty("password", System.getProperty("pg.password"));
        }
        return DriverManager.getConnection("jdbc:postgresql://" + prop("pg.host", "127.0.0.1") + ":"
                + prop("pg.port", "5432") + "/" + db, p);
    }

    private String newKey() {
        byte[] sid = new byte[32];
        random.nextBytes(sid);
        return "session:" + Base64.getUrlEncoder().withoutPadding().encodeToString(sid);
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        database = "apisix_session_bench_" + rows;
        try (Connection c = admin("postgres"); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
            st.execute("CREATE DATABASE " + database);
        }
        PostgresSettings settings = new PostgresSettings(
                "jdbc:postgresql://" + prop("pg.host", "127.0.0.1") + ":" + prop("pg.port", "5432") + "/" + database,
                prop("pg.user", "postgres"), System.getProperty("pg.password"), "public", "apisix_", 4,
                Duration.ofSeconds(5), Duration.ofSeconds(30), true, Duration.ZERO, 1000);
        storage = PostgresSessionStorageProvider.open(settings);

        byte[] payload = new byte[150];
        random.nextBytes(payload);
        value = ("[\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(payload) + "\"]")
                .getBytes(StandardCharsets.US_ASCII);
        // the bulk: rows sessions with engine-shaped keys and values, expiring over the next hour
        try (Connection c = admin(database); Statement st = c.createStatement()) {
            st.execute("INSERT INTO public.apisix_sessions (key, data, expires_at) "
                    + "SELECT 'session:' || substr(md5(g::text) || md5((g::bigint * 7919)::text), 1, 43), "
                    + "convert_to('[\"' || repeat('x', 200) || '\"]', 'UTF8'), now() + (g % 3600) * interval '1 second' "
                    + "+ interval '1 hour' FROM generate_series(1, " + rows + ") g");
            st.execute("VACUUM ANALYZE public.apisix_sessions");
        }
        existing = new String[KEYSPACE_SAMPLE];
        for (int i = 0; i < existing.length; i++) {
            existing[i] = newKey();
            storage.set(existing[i], value, Duration.ofHours(2));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (storage != null) {
            storage.close();
        }
        try (Connection c = admin("postgres"); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }

    private String someExisting() {
        return existing[ThreadLocalRandom.current().nextInt(existing.length)];
    }

    /** A request with a session cookie: one indexed read, expired rows filtered. */
    @Benchmark
    public byte[] get() throws Exception {
        return storage.get(someExisting()).orElseThrow();
    }

    /** A touch (same id, new expiry): the upsert on an existing key. */
    @Benchmark
    public void set() throws Exception {
        storage.set(someExisting(), value, Duration.ofHours(2));
    }

    /** A renewal: a new row plus the old one shortened to stale_ttl, in one transaction. */
    @Benchmark
    public void renew() throws Exception {
        storage.set(newKey(), value, Duration.ofHours(2), new Renewal(someExisting(), Duration.ofHours(1)), null);
    }
}
