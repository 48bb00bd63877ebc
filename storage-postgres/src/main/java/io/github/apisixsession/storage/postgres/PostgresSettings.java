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
        CircuitBreaker.Settings circuitBreaker) {

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

    static final Set<String> KNOWN = Set.of(JDBC_URL, HOST, PORT, DATABASE, USERNAME, PASSWORD, SCHEMA,
            TABLE_PREFIX, POOL_SIZE, CONNECT_TIMEOUT, QUERY_TIMEOUT, MIGRATE, CLEANUP_INTERVAL, CLEANUP_BATCH_SIZE,
            CIRCUIT_BREAKER_FAILURES, CIRCUIT_BREAKER_OPEN_FOR);

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 5432;
    public static final String DEFAULT_SCHEMA = "public";
    public static final String DEFAULT_TABLE_PREFIX = "apisix_";
    public static final int DEFAULT_POOL_SIZE = 10;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_CLEANUP_INTERVAL = Duration.ofSeconds(60);
    public static final int DEFAULT_CLEANUP_BATCH_SIZE = 1000;

    /** Unquoted PostgreSQL identifiers only: the names go into DDL and queries without quoting. */
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");
    /** PostgreSQL's identifier limit is 63 bytes; the longest derived name adds 30 characters. */
    static final int MAX_SCHEMA_LENGTH = 63;
    static final int MAX_TABLE_PREFIX_LENGTH = 30;

    /** With the default circuit breaker (tests, benchmarks). */
    public PostgresSettings(String jdbcUrl, String username, String password, String schema, String tablePrefix,
            int poolSize, Duration connectTimeout, Duration queryTimeout, boolean migrate, Duration cleanupInterval,
            int cleanupBatchSize) {
        this(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout, queryTimeout, migrate,
                cleanupInterval, cleanupBatchSize, CircuitBreaker.Settings.DEFAULT);
    }

    public PostgresSettings {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        Objects.requireNonNull(circuitBreaker, "circuitBreaker");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(tablePrefix, "tablePrefix");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(queryTimeout, "queryTimeout");
        Objects.requireNonNull(cleanupInterval, "cleanupInterval");
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
        return new PostgresSettings(url, username, password, schema, prefix, poolSize, connectTimeout, queryTimeout,
                migrate, cleanupInterval, batch, circuitBreaker(config));
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
                queryTimeout, migrate, cleanupInterval, cleanupBatchSize);
    }

    /** The same settings with another migrate flag and cleanup. */
    public PostgresSettings withMigrate(boolean newMigrate) {
        return new PostgresSettings(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout,
                queryTimeout, newMigrate, cleanupInterval, cleanupBatchSize);
    }

    public PostgresSettings withCleanup(Duration interval, int batchSize) {
        return new PostgresSettings(jdbcUrl, username, password, schema, tablePrefix, poolSize, connectTimeout,
                queryTimeout, migrate, interval, batchSize);
    }

    /** Without the password and the URL (it may carry one). */
    @Override
    public String toString() {
        return "PostgresSettings[" + describe() + ", pool " + poolSize + ", connect " + connectTimeout
                + ", query " + queryTimeout + ", migrate " + migrate + ", cleanup " + cleanupInterval
                + " x " + cleanupBatchSize + "]";
    }
}
