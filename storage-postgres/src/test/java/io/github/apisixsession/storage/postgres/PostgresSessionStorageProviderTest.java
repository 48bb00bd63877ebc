package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.CircuitBreaker;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.Causes;
import io.github.apisixsession.testing.RequiresService;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The route's postgres object: defaults, errors naming fields, secrets, and create() end to end. */
class PostgresSessionStorageProviderTest {

    private static final String SECRET = "s3cr3t-pa55word-never-shown";
    private final PostgresSessionStorageProvider provider = new PostgresSessionStorageProvider();

    private static StorageConfig pg(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return StorageConfig.of("postgres", m);
    }

    private static StorageContext env(Map<String, String> vars) {
        return new StorageContext(Clock.systemUTC(), vars::get);
    }

    private StorageConfigException rejected(StorageConfig c) {
        return assertThrows(StorageConfigException.class, () -> provider.validate(c));
    }

    @Test
    void isDiscoveredByServiceLoaderAsPostgres() {
        List<SessionStorageProvider> found = ServiceLoader.load(SessionStorageProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("postgres")).toList();
        assertEquals(1, found.size());
        assertTrue(found.get(0) instanceof PostgresSessionStorageProvider);
    }

    @Test
    void defaults() {
        PostgresSettings s = PostgresSettings.parse(pg("database", "apisix"), name -> null);
        assertEquals("jdbc:postgresql://127.0.0.1:5432/apisix", s.jdbcUrl());
        assertEquals("public", s.schema());
        assertEquals("apisix_", s.tablePrefix());
        assertEquals("apisix_sessions", s.sessionsTable());
        assertEquals("apisix_session_metadata", s.metadataTable());
        assertEquals("apisix_session_schema_history", s.historyTable());
        assertEquals(10, s.poolSize());
        assertEquals(Duration.ofSeconds(2), s.connectTimeout());
        assertEquals(Duration.ofSeconds(3), s.queryTimeout());
        assertTrue(s.migrate());
        assertEquals(Duration.ofSeconds(60), s.cleanupInterval());
        assertEquals(1000, s.cleanupBatchSize());
        assertEquals(null, s.username());
        assertEquals(null, s.password());
        assertEquals(PostgresSettings.ClientCache.DEFAULT, s.clientCache());
        assertEquals(new PostgresSettings.ClientCache(true, 10_000, 16L << 20, 500), s.clientCache());
        assertEquals(null, s.synchronousCommit());
    }

    @Test
    void clientCacheAndSynchronousCommitOptions() {
        PostgresSettings s = PostgresSettings.parse(pg("database", "d", "client_cache", true,
                "client_cache_max_entries", 50, "client_cache_max_bytes", 1 << 20, "client_cache_heartbeat", 200,
                "synchronous_commit", "off"), name -> null);
        assertEquals(new PostgresSettings.ClientCache(true, 50, 1 << 20, 200), s.clientCache());
        assertEquals("off", s.synchronousCommit());
        assertEquals(PostgresSettings.ClientCache.OFF,
                PostgresSettings.parse(pg("database", "d", "client_cache", false), name -> null).clientCache());
        assertEquals("postgres.client_cache", rejected(pg("database", "d", "client_cache", "yes")).field());
        assertEquals("postgres.client_cache_max_entries",
                rejected(pg("database", "d", "client_cache_max_entries", 0)).field());
        assertEquals("postgres.client_cache_max_bytes",
                rejected(pg("database", "d", "client_cache_max_bytes", 1000)).field());
        assertEquals("postgres.client_cache_heartbeat",
                rejected(pg("database", "d", "client_cache_heartbeat", 10)).field());
        StorageConfigException unused = rejected(pg("database", "d", "client_cache", false,
                "client_cache_heartbeat", 200));
        assertEquals("postgres.client_cache_heartbeat", unused.field());
        assertTrue(unused.getMessage().contains("only used with"), unused.getMessage());
        StorageConfigException sync = rejected(pg("database", "d", "synchronous_commit", "false"));
        assertEquals("postgres.synchronous_commit", sync.field());
        assertTrue(sync.getMessage().contains("\"off\""), sync.getMessage());
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void synchronousCommitIsSetOnThePoolsConnections() throws Exception {
        try (PostgresSessionStorage s = PgTest.open(PgTest.settings().withClientCache(PostgresSettings.ClientCache.OFF,
                "off"))) {
            assertEquals("off", s.dsl().fetchValue("SHOW synchronous_commit"));
            s.set("sync-off:" + java.util.UUID.randomUUID(), new byte[] {1}, Duration.ofMinutes(1));
        }
        try (PostgresSessionStorage s = PgTest.open(PgTest.settings())) {
            assertEquals("on", s.dsl().fetchValue("SHOW synchronous_commit"));
        }
    }

    @Test
    void everyOption() {
        PostgresSettings s = PostgresSettings.parse(pg("host", "db.internal", "port", 6432, "database", "sessions",
                "username", "apisix", "password", "$env://PG_PASSWORD", "schema", "gateway", "table_prefix", "gw_",
                "pool_size", 20, "connect_timeout", 0.5, "query_timeout", 4, "migrate", false,
                "cleanup_interval", 300, "cleanup_batch_size", 500), Map.of("PG_PASSWORD", SECRET)::get);
        assertEquals("jdbc:postgresql://db.internal:6432/sessions", s.jdbcUrl());
        assertEquals("apisix", s.username());
        assertEquals(SECRET, s.password());
        assertEquals("gateway", s.schema());
        assertEquals("gw_sessions", s.sessionsTable());
        assertEquals(20, s.poolSize());
        assertEquals(Duration.ofMillis(500), s.connectTimeout());
        assertEquals(Duration.ofSeconds(4), s.queryTimeout());
        assertFalse(s.migrate());
        assertEquals(Duration.ofMinutes(5), s.cleanupInterval());
        assertEquals(500, s.cleanupBatchSize());
    }

    @Test
    void jdbcUrlInsteadOfHostPortDatabase() {
        String url = "jdbc:postgresql://a:1,b:2/db?sslmode=require&targetServerType=primary";
        PostgresSettings s = PostgresSettings.parse(pg("jdbc_url", url), name -> null);
        assertEquals(url, s.jdbcUrl());
        StorageConfigException both = rejected(pg("jdbc_url", url, "host", "x"));
        assertEquals("postgres.host", both.field());
    }

    @Test
    void badJdbcUrlIsRejectedWithoutEchoingIt() {
        for (String bad : List.of("jdbc:mysql://h/db?password=" + SECRET, "postgres://h/db?password=" + SECRET)) {
            StorageConfigException e = rejected(pg("jdbc_url", bad));
            assertEquals("postgres.jdbc_url", e.field());
            assertFalse(e.getMessage().contains(SECRET), e.getMessage());
        }
    }

    @Test
    void fieldErrorsNameTheField() {
        assertEquals("postgres.database", rejected(pg()).field());
        assertEquals("postgres.databse", rejected(pg("databse", "x")).field());
        assertEquals("postgres.port", rejected(pg("database", "d", "port", 70000)).field());
        assertEquals("postgres.port", rejected(pg("database", "d", "port", "5432")).field());
        assertEquals("postgres.pool_size", rejected(pg("database", "d", "pool_size", 0)).field());
        assertEquals("postgres.schema", rejected(pg("database", "d", "schema", "Public")).field());
        assertEquals("postgres.schema", rejected(pg("database", "d", "schema", "x; drop table y")).field());
        assertEquals("postgres.table_prefix", rejected(pg("database", "d", "table_prefix", "a-b")).field());
        assertEquals("postgres.table_prefix", rejected(pg("database", "d", "table_prefix", "x".repeat(31))).field());
        assertEquals("postgres.connect_timeout", rejected(pg("database", "d", "connect_timeout", 0.1)).field());
        assertEquals("postgres.query_timeout", rejected(pg("database", "d", "query_timeout", 1.5)).field());
        assertEquals("postgres.migrate", rejected(pg("database", "d", "migrate", "yes")).field());
        assertEquals("postgres.cleanup_interval", rejected(pg("database", "d", "cleanup_interval", 0.5)).field());
        assertEquals("postgres.cleanup_batch_size", rejected(pg("database", "d", "cleanup_batch_size", 0)).field());
        assertEquals("postgres.host", rejected(pg("database", "d", "host", "a b")).field());
        // an empty prefix and cleanup off are allowed
        provider.validate(pg("database", "d", "table_prefix", "", "cleanup_interval", 0));
    }

    @Test
    void theCircuitBreakerIsOnByDefaultAndItsOptionsAreChecked() {
        assertEquals(new CircuitBreaker.Settings(5, Duration.ofSeconds(1)),
                PostgresSettings.parse(pg("database", "d"), n -> null).circuitBreaker());
        assertEquals(new CircuitBreaker.Settings(3, Duration.ofMillis(2500)), PostgresSettings.parse(pg("database", "d",
                "circuit_breaker_failures", 3, "circuit_breaker_open_for", 2.5), n -> null).circuitBreaker());
        assertFalse(PostgresSettings.parse(pg("database", "d", "circuit_breaker_failures", 0), n -> null)
                .circuitBreaker().enabled());
        assertEquals("postgres.circuit_breaker_failures",
                rejected(pg("database", "d", "circuit_breaker_failures", -1)).field());
        assertEquals("postgres.circuit_breaker_open_for",
                rejected(pg("database", "d", "circuit_breaker_open_for", 0)).field());
        assertEquals("postgres.circuit_breaker_open_for",
                rejected(pg("database", "d", "circuit_breaker_open_for", 601)).field());
        StorageConfigException off = rejected(pg("database", "d", "circuit_breaker_failures", 0,
                "circuit_breaker_open_for", 1));
        assertEquals("postgres.circuit_breaker_open_for", off.field());
        assertTrue(off.getMessage().contains("circuit_breaker_failures"), off.getMessage());
    }

    @Test
    void passwordFromAnUnsetVariableIsAConfigErrorAtCreateNotAtValidate() {
        StorageConfig c = pg("database", "d", "password", "$env://NOPE");
        provider.validate(c);
        StorageConfigException e = assertThrows(StorageConfigException.class,
                () -> provider.create(c, env(Map.of())));
        assertEquals("postgres.password", e.field());
    }

    @Test
    void settingsNeverPrintThePasswordOrTheUrl() {
        PostgresSettings s = PostgresSettings.parse(pg("jdbc_url", "jdbc:postgresql://h:5/db?password=" + SECRET,
                "password", SECRET), name -> null);
        assertFalse(s.toString().contains(SECRET), s.toString());
        assertFalse(s.describe().contains(SECRET), s.describe());
        assertEquals("h:5/db public.apisix_*", s.describe());
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void createWorksAgainstTheTestDatabase() throws Exception {
        PostgresTestDatabase db = PostgresTestDatabase.get();
        Map<String, Object> m = new HashMap<>(Map.of("host", db.host(), "port", db.port(), "database", db.database(),
                "username", db.user(), "cleanup_interval", 0));
        if (db.password() != null) {
            m.put("password", "$env://PGPW");
        }
        StorageConfig c = StorageConfig.of("postgres", m);
        provider.validate(c);
        try (SessionStorage s = provider.create(c, env(db.password() == null ? Map.of() : Map.of("PGPW", db.password())))) {
            s.set("provider-test:k", new byte[] {9}, Duration.ofMinutes(1));
            assertArrayEquals(new byte[] {9}, s.get("provider-test:k").orElseThrow());
            assertTrue(s.supportsMetadata());
        }
    }

    @Test
    void unreachableDatabaseFailsCreateWithinTheConnectTimeoutAndShowsNoSecret() {
        StorageConfig c = pg("jdbc_url", "jdbc:postgresql://127.0.0.1:1/db?password=" + SECRET, "password", SECRET,
                "connect_timeout", 1);
        PrintStream savedErr = System.err;
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        StorageException e;
        try {
            System.setErr(new PrintStream(logs, true, StandardCharsets.UTF_8));
            e = assertThrows(StorageException.class, () -> provider.create(c, env(Map.of())));
        } finally {
            System.setErr(savedErr);
        }
        // refused at once: nothing waited for, let alone longer than connect_timeout
        Causes.assertCausedBy(e, java.util.List.of(java.net.ConnectException.class));
        assertTrue(e.getMessage().startsWith("postgres migration failed"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
        String all = logs.toString(StandardCharsets.UTF_8);
        assertFalse(all.contains(SECRET), all);
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void migrationLogsDoNotShowAPasswordCarriedByTheUrl() throws Exception {
        PostgresTestDatabase db = PostgresTestDatabase.get();
        // the server trusts local connections, so the password in the URL is never checked, only carried
        String url = db.jdbcUrl() + "?user=" + db.user() + "&password=" + (db.password() == null ? SECRET : db.password());
        PrintStream savedErr = System.err;
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(logs, true, StandardCharsets.UTF_8));
            try (SessionStorage s = provider.create(pg("jdbc_url", url, "cleanup_interval", 0), env(Map.of()))) {
                s.get("x");
            }
        } finally {
            System.setErr(savedErr);
        }
        String all = logs.toString(StandardCharsets.UTF_8);
        assertFalse(all.contains(db.password() == null ? SECRET : db.password()), all);
        assertTrue(all.contains("postgres storage"), all);
        assertFalse(all.contains("jdbc:postgresql"), "no JDBC URL in the logs (Flyway logs it by default)\n" + all);
    }
}
