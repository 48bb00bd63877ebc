package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.CircuitBreaker;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The route's {@code postgres} object, checked and with defaults applied.
 *
 * <p>{@link #toString()} never shows the password or the JDBC URL (a URL can carry a password);
 * {@link #describe()} gives host, port and database for logs.
 */
public record PostgresSettings(
        String jdbcUrl,
        String username,
        String password,
        String schema,
        String tablePrefix,
        int poolSize,
        Duration connectTimeout,
        Duration queryTimeout,
        boolean migrate,
        Duration cleanupInterval,
        int cleanupBatchSize,
        CircuitBreaker.Settings circuitBreaker,
        ClientCache clientCache,
        String synchronousCommit) {

    /**
     * {@code client_cache}: session reads served from the runner's memory, kept coherent by the
     * sessions table's notifications (docs/postgres.md, "Client-side cache").
     *
     * @param enabled         whether reads are cached
     * @param maxEntries      most entries held
     * @param maxBytes        most (estimated) bytes held
     * @param heartbeatMillis how often the LISTEN connection is checked with a query
     */
    public record ClientCache(boolean enabled, int maxEntries, long maxBytes, int heartbeatMillis) {
        public static final ClientCache OFF = new ClientCache(false, 0, 0, 0);
        public static final ClientCache DEFAULT = new ClientCache(true, DEFAULT_CLIENT_CACHE_MAX_ENTRIES,
                DEFAULT_CLIENT_CACHE_MAX_BYTES, DEFAULT_CLIENT_CACHE_HEARTBEAT);
    }

    public static final String JDBC_URL = "jdbc_url";
    public static final String HOST = "host";
    public static final String PORT = "port";
    public static final String DATABASE = "database";
    public static final String USERNAME = "username";
    public static final String PASSWORD = "password";
    public static final String SCHEMA = "schema";
    public static final String TABLE_PREFIX = "table_prefix";
    public static final String POOL_SIZE = "pool_size";
    public static final String CONNECT_TIMEOUT = "connect_timeout";
    public static final String QUERY_TIMEOUT = "query_timeout";
    public static final String MIGRATE = "migrate";
    public static final String CLEANUP_INTERVAL = "cleanup_interval";
    public static final String CLEANUP_BATCH_SIZE = "cleanup_batch_size";
    public static final String CIRCUIT_BREAKER_FAILURES = "circuit_breaker_failures";
    public static final String CIRCUIT_BREAKER_OPEN_FOR = "circuit_breaker_open_for";
    public static final String CLIENT_CACHE = "client_cache";
    public static final String CLIENT_CACHE_MAX_ENTRIES = "client_cache_max_entries";
    public static final String CLIENT_CACHE_MAX_BYTES = "client_cache_max_bytes";
    public static final String CLIENT_CACHE_HEARTBEAT = "client_cache_heartbeat";
    public static final String SYNCHRONOUS_COMMIT = "synchronous_commit";

    static final Set<String> KNOWN = Set.of(JDBC_URL, HOST, PORT, DATABASE, USERNAME, PASSWORD, SCHEMA,
            TABLE_PREFIX, POOL_SIZE, CONNECT_TIMEOUT, QUERY_TIMEOUT, MIGRATE, CLEANUP_INTERVAL, CLEANUP_BATCH_SIZE,
            CIRCUIT_BREAKER_FAILURES, CIRCUIT_BREAKER_OPEN_FOR,
            CLIENT_CACHE, CLIENT_CACHE_MAX_ENTRIES, CLIENT_CACHE_MAX_BYTES, CLIENT_CACHE_HEARTBEAT, SYNCHRONOUS_COMMIT);
    /** PostgreSQL's values of {@code synchronous_commit}. */
    static final Set<String> SYNCHRONOUS_COMMIT_VALUES = Set.of("on", "off", "local", "remote_write", "remote_apply");

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 5432;
    public static final String DEFAULT_SCHEMA = "public";
    public static final String DEFAULT_TABLE_PREFIX = "apisix_";
    public static final int DEFAULT_POOL_SIZE = 10;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_CLEANUP_INTERVAL = Duration.ofSeconds(60);
    public static final int DEFAULT_CLEANUP_BATCH_SIZE = 1000;
    public static final int DEFAULT_CLIENT_CACHE_MAX_ENTRIES = 10_000;
    public static final long DEFAULT_CLIENT_CACHE_MAX_BYTES = 16L << 20;
    public static final int DEFAULT_CLIENT_CACHE_HEARTBEAT = 500;

    /** Unquoted PostgreSQL identifiers only: the names go into DDL and queries without quoting. */
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");
    /** PostgreSQL's identifier limit is 63 bytes; the longest derived name adds 30 characters. */
    static final int MAX_SCHEMA_LENGTH = 63;
    static final int MAX_TABLE_PREFIX_LENGTH = 30;

    /** With the defaults of the later options: circuit breaker, client cache on, the server's synchronous_commit (tests, benchmarks). */
    public PostgresSettings(String jdbcUrl, String username, String password, String schema, String tablePrefix,
            int poolSize, Duration connectTimeout, Duration queryTimeout, boolean migrate, Duration cleanupInterval,
            int cleanupBatchSize) {
        this(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout, queryTimeout, migrate,
                cleanupInterval, cleanupBatchSize, CircuitBreaker.Settings.DEFAULT, ClientCache.DEFAULT, null);
    }

    public PostgresSettings {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        Objects.requireNonNull(circuitBreaker, "circuitBreaker");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(tablePrefix, "tablePrefix");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(queryTimeout, "queryTimeout");
        Objects.requireNonNull(cleanupInterval, "cleanupInterval");
        Objects.requireNonNull(clientCache, "clientCache");
        if (synchronousCommit != null && !SYNCHRONOUS_COMMIT_VALUES.contains(synchronousCommit)) {
            throw new IllegalArgumentException("synchronousCommit must be one of " + SYNCHRONOUS_COMMIT_VALUES);
        }
        if (!validSchema(schema)) {
            throw new IllegalArgumentException("schema must be a lower-case identifier");
        }
        if (!validTablePrefix(tablePrefix)) {
            throw new IllegalArgumentException("tablePrefix must be a lower-case identifier prefix");
        }
        if (poolSize < 1) {
            throw new IllegalArgumentException("poolSize must be at least 1");
        }
        if (cleanupBatchSize < 1) {
            throw new IllegalArgumentException("cleanupBatchSize must be at least 1");
        }
    }

    /** Checks a route's {@code postgres} object without resolving {@code $env://} or connecting. */
    public static void validate(StorageConfig config) throws StorageConfigException {
        parse(config, name -> "", false);
    }

    /** The settings of a route's {@code postgres} object; {@code $env://NAME} read through {@code environment}. */
    public static PostgresSettings parse(StorageConfig config, Function<String, String> environment)
            throws StorageConfigException {
        return parse(config, environment, true);
    }

    private static PostgresSettings parse(StorageConfig config, Function<String, String> environment,
            boolean resolveSecrets) {
        config.requireOnly(KNOWN);
        String jdbcUrl = config.getString(JDBC_URL, null);
        String url;
        if (jdbcUrl != null) {
            for (String k : new String[] {HOST, PORT, DATABASE}) {
                if (config.has(k)) {
                    throw new StorageConfigException(config.field(k), "give either jdbc_url or host/port/database, not both");
                }
            }
            // never echo the URL: it may carry a password
            if (!jdbcUrl.startsWith("jdbc:postgresql:") || org.postgresql.Driver.parseURL(jdbcUrl, new Properties()) == null) {
                throw new StorageConfigException(config.field(JDBC_URL),
                        "must be a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)");
            }
            url = jdbcUrl;
        } else {
            String host = config.getString(HOST, DEFAULT_HOST);
            if (host.isBlank() || !host.matches("[A-Za-z0-9._:\\[\\]-]+")) {
                throw new StorageConfigException(config.field(HOST), "must be a host name or an IP address");
            }
            int port = config.getInt(PORT, DEFAULT_PORT, 1, 65535);
            String database = config.getString(DATABASE, null);
            if (database == null || database.isEmpty()) {
                throw new StorageConfigException(config.field(DATABASE), "required (or give jdbc_url)");
            }
            String hostPart = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
            url = "jdbc:postgresql://" + hostPart + ":" + port + "/"
                    + java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
        }
        String username = config.getString(USERNAME, null);
        String password = resolveSecrets
                ? config.getSecret(PASSWORD, null, environment)
                : config.getString(PASSWORD, null);
        String schema = config.getString(SCHEMA, DEFAULT_SCHEMA);
        if (!validSchema(schema)) {
            throw new StorageConfigException(config.field(SCHEMA),
                    "must be a lower-case identifier ([a-z_][a-z0-9_]*, at most " + MAX_SCHEMA_LENGTH + " characters)");
        }
        String prefix = config.getString(TABLE_PREFIX, DEFAULT_TABLE_PREFIX);
        if (!validTablePrefix(prefix)) {
            throw new StorageConfigException(config.field(TABLE_PREFIX),
                    "must be empty or a lower-case identifier ([a-z_][a-z0-9_]*, at most "
                            + MAX_TABLE_PREFIX_LENGTH + " characters)");
        }
        int poolSize = config.getInt(POOL_SIZE, DEFAULT_POOL_SIZE, 1, 1000);
        Duration connectTimeout = config.getSeconds(CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
                Duration.ofMillis(250), Duration.ofSeconds(300));
        Duration queryTimeout = config.getSeconds(QUERY_TIMEOUT, DEFAULT_QUERY_TIMEOUT,
                Duration.ofSeconds(1), Duration.ofSeconds(300));
        if (queryTimeout.toNanos() % 1_000_000_000L != 0) {
            // the driver's socket timeout counts whole seconds
            throw new StorageConfigException(config.field(QUERY_TIMEOUT), "must be a whole number of seconds");
        }
        boolean migrate = config.getBoolean(MIGRATE, true);
        Duration cleanupInterval = config.getSeconds(CLEANUP_INTERVAL, DEFAULT_CLEANUP_INTERVAL,
                Duration.ZERO, Duration.ofDays(1));
        if (!cleanupInterval.isZero() && cleanupInterval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new StorageConfigException(config.field(CLEANUP_INTERVAL), "must be 0 (off) or at least 1 second");
        }
        int batch = config.getInt(CLEANUP_BATCH_SIZE, DEFAULT_CLEANUP_BATCH_SIZE, 1, 100_000);
        String synchronousCommit = config.getString(SYNCHRONOUS_COMMIT, null);
        if (synchronousCommit != null && !SYNCHRONOUS_COMMIT_VALUES.contains(synchronousCommit)) {
            throw new StorageConfigException(config.field(SYNCHRONOUS_COMMIT),
                    "must be one of \"off\", \"local\", \"on\", \"remote_write\", \"remote_apply\"");
        }
        return new PostgresSettings(url, username, password, schema, prefix, poolSize, connectTimeout, queryTimeout,
                migrate, cleanupInterval, batch, circuitBreaker(config), parseClientCache(config), synchronousCommit);
    }

    /** On by default: 5 consecutive failures open the circuit for a second; 0 failures turns it off. */
    private static CircuitBreaker.Settings circuitBreaker(StorageConfig config) {
        int failures = config.getInt(CIRCUIT_BREAKER_FAILURES, CircuitBreaker.Settings.DEFAULT_FAILURES, 0, 1_000_000);
        Duration openFor = config.getSeconds(CIRCUIT_BREAKER_OPEN_FOR, CircuitBreaker.Settings.DEFAULT_OPEN_FOR,
                Duration.ofMillis(1), Duration.ofSeconds(600));
        if (failures == 0 && config.has(CIRCUIT_BREAKER_OPEN_FOR)) {
            throw new StorageConfigException(config.field(CIRCUIT_BREAKER_OPEN_FOR),
                    "only used with a \"circuit_breaker_failures\" above 0");
        }
        return new CircuitBreaker.Settings(failures, openFor);
    }

    private static ClientCache parseClientCache(StorageConfig c) {
        boolean enabled = c.getBoolean(CLIENT_CACHE, true);
        int maxEntries = c.getInt(CLIENT_CACHE_MAX_ENTRIES, DEFAULT_CLIENT_CACHE_MAX_ENTRIES, 1, 10_000_000);
        long maxBytes = c.getLong(CLIENT_CACHE_MAX_BYTES, DEFAULT_CLIENT_CACHE_MAX_BYTES, 64L << 10, 64L << 30);
        int heartbeat = c.getInt(CLIENT_CACHE_HEARTBEAT, DEFAULT_CLIENT_CACHE_HEARTBEAT, 50, 60_000);
        if (!enabled) {
            for (String key : java.util.List.of(CLIENT_CACHE_MAX_ENTRIES, CLIENT_CACHE_MAX_BYTES, CLIENT_CACHE_HEARTBEAT)) {
                if (c.has(key)) {
                    throw new StorageConfigException(c.field(key), "only used with \"client_cache\": true");
                }
            }
            return ClientCache.OFF;
        }
        return new ClientCache(true, maxEntries, maxBytes, heartbeat);
    }

    static boolean validSchema(String schema) {
        return schema.length() <= MAX_SCHEMA_LENGTH && IDENTIFIER.matcher(schema).matches();
    }

    static boolean validTablePrefix(String prefix) {
        return prefix.isEmpty() || prefix.length() <= MAX_TABLE_PREFIX_LENGTH && IDENTIFIER.matcher(prefix).matches();
    }

    /** {@code <prefix>sessions}. */
    public String sessionsTable() {
        return tablePrefix + "sessions";
    }

    /** {@code <prefix>session_metadata}. */
    public String metadataTable() {
        return tablePrefix + "session_metadata";
    }

    /**
     * The channel the sessions table's trigger (V2__notify.sql) announces changed keys on:
     * {@code <schema>.<prefix>sessions}, or {@code apisix_session_<md5 of that>} past PostgreSQL's
     * 63-byte limit on names.
     */
    public String notifyChannel() {
        String channel = schema + "." + sessionsTable();
        if (channel.length() <= 63) {
            return channel;
        }
        try {
            byte[] md5 = java.security.MessageDigest.getInstance("MD5")
                    .digest(channel.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return "apisix_session_" + java.util.HexFormat.of().formatHex(md5);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is missing from this JDK", e);
        }
    }

    /** The trigger of V2__notify.sql. */
    public String notifyTrigger() {
        return tablePrefix + "sessions_notify";
    }

    /** Flyway's schema history table: {@code <prefix>session_schema_history}, apart from any application's own. */
    public String historyTable() {
        return tablePrefix + "session_schema_history";
    }

    /** {@code host:port/database schema.prefix}, for logs: no user, no password, no URL parameters. */
    public String describe() {
        Properties p = org.postgresql.Driver.parseURL(jdbcUrl, new Properties());
        String where = p == null ? "?" : p.getProperty("PGHOST", "?") + ":" + p.getProperty("PGPORT", "?")
                + "/" + p.getProperty("PGDBNAME", "?");
        return where + " " + schema + "." + tablePrefix + "*";
    }

    /** The same settings with another schema (tests, the migrate command). */
    public PostgresSettings withSchema(String newSchema, String newPrefix) {
        return new PostgresSettings(jdbcUrl, username, password, newSchema, newPrefix, poolSize, connectTimeout,
                queryTimeout, migrate, cleanupInterval, cleanupBatchSize, circuitBreaker, clientCache, synchronousCommit);
    }

    /** The same settings with another migrate flag and cleanup. */
    public PostgresSettings withMigrate(boolean newMigrate) {
        return new PostgresSettings(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout,
                queryTimeout, newMigrate, cleanupInterval, cleanupBatchSize, circuitBreaker, clientCache, synchronousCommit);
    }

    public PostgresSettings withCleanup(Duration interval, int batchSize) {
        return new PostgresSettings(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout,
                queryTimeout, migrate, interval, batchSize, circuitBreaker, clientCache, synchronousCommit);
    }

    /** The same settings with another client cache and {@code synchronous_commit} (null: the server's). */
    public PostgresSettings withClientCache(ClientCache newClientCache, String newSynchronousCommit) {
        return new PostgresSettings(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout,
                queryTimeout, migrate, cleanupInterval, cleanupBatchSize, circuitBreaker, newClientCache, newSynchronousCommit);
    }

    /** Without the password and the URL (it may carry one). */
    @Override
    public String toString() {
        return "PostgresSettings[" + describe() + ", pool " + poolSize + ", connect " + connectTimeout
                + ", query " + queryTimeout + ", migrate " + migrate + ", cleanup " + cleanupInterval
                + " x " + cleanupBatchSize + ", client cache " + (clientCache.enabled() ? clientCache.maxEntries()
                        + " entries" : "off") + (synchronousCommit == null ? "" : ", synchronous_commit "
                        + synchronousCommit) + "]";
    }
}
