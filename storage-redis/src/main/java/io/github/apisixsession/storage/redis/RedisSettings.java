package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.CircuitBreaker;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * The route's {@code redis} object, checked and typed. Names follow lua-resty-session's redis,
 * redis/sentinel and redis/cluster storages; times are milliseconds as there.
 *
 * <p>{@link #parse} with a null environment only checks (for {@code validate}, which must not
 * depend on the process environment); with an environment it also resolves {@code $env://NAME}
 * secrets.
 */
public record RedisSettings(
        Mode mode,
        String host,
        int port,
        String socket,
        String username,
        String password,
        int database,
        boolean ssl,
        boolean sslVerify,
        String serverName,
        String prefix,
        String suffix,
        int connectTimeoutMillis,
        int readTimeoutMillis,
        int keepaliveTimeoutMillis,
        int poolSize,
        int poolWaitMillis,
        List<Node> sentinels,
        String master,
        String sentinelUsername,
        String sentinelPassword,
        List<Node> nodes,
        int maxRedirections,
        ClientCache clientCache,
        CircuitBreaker.Settings circuitBreaker) {

    public enum Mode { STANDALONE, SENTINEL, CLUSTER }

    /**
     * {@code client_cache}: session reads served from the runner's memory, kept coherent by Redis'
     * invalidation messages (docs/redis.md, "Client-side cache").
     *
     * @param enabled          whether reads are cached
     * @param maxEntries       most entries held
     * @param maxBytes         most bytes held (keys, values and bookkeeping, estimated)
     * @param heartbeatMillis  how often the invalidation connection is checked with a PING; an
     *                         entry is served only while a PING sent at most
     *                         {@code heartbeat + read_timeout} ago has been answered
     */
    public record ClientCache(boolean enabled, int maxEntries, long maxBytes, int heartbeatMillis) {
        public static final ClientCache OFF = new ClientCache(false, 0, 0, 0);
    }

    /** A sentinel or cluster node. */
    public record Node(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    public static final String HOST = "host";
    public static final String PORT = "port";
    public static final String SOCKET = "socket";
    public static final String USERNAME = "username";
    public static final String PASSWORD = "password";
    public static final String DATABASE = "database";
    public static final String SSL = "ssl";
    public static final String SSL_VERIFY = "ssl_verify";
    public static final String SERVER_NAME = "server_name";
    public static final String PREFIX = "prefix";
    public static final String SUFFIX = "suffix";
    public static final String CONNECT_TIMEOUT = "connect_timeout";
    public static final String READ_TIMEOUT = "read_timeout";
    public static final String KEEPALIVE_TIMEOUT = "keepalive_timeout";
    public static final String POOL_SIZE = "pool_size";
    public static final String POOL_WAIT = "pool_wait";
    public static final String SENTINELS = "sentinels";
    public static final String MASTER = "master";
    public static final String SENTINEL_USERNAME = "sentinel_username";
    public static final String SENTINEL_PASSWORD = "sentinel_password";
    public static final String NODES = "nodes";
    public static final String MAX_REDIRECTIONS = "max_redirections";
    public static final String CLIENT_CACHE = "client_cache";
    public static final String CLIENT_CACHE_MAX_ENTRIES = "client_cache_max_entries";
    public static final String CLIENT_CACHE_MAX_BYTES = "client_cache_max_bytes";
    public static final String CLIENT_CACHE_HEARTBEAT = "client_cache_heartbeat";
    public static final String CIRCUIT_BREAKER_FAILURES = "circuit_breaker_failures";
    public static final String CIRCUIT_BREAKER_OPEN_FOR = "circuit_breaker_open_for";

    public static final Set<String> KNOWN = Set.of(HOST, PORT, SOCKET, USERNAME, PASSWORD, DATABASE, SSL, SSL_VERIFY,
            SERVER_NAME, PREFIX, SUFFIX, CONNECT_TIMEOUT, READ_TIMEOUT, KEEPALIVE_TIMEOUT, POOL_SIZE, POOL_WAIT,
            SENTINELS, MASTER, SENTINEL_USERNAME, SENTINEL_PASSWORD, NODES, MAX_REDIRECTIONS, CLIENT_CACHE,
            CLIENT_CACHE_MAX_ENTRIES, CLIENT_CACHE_MAX_BYTES, CLIENT_CACHE_HEARTBEAT, CIRCUIT_BREAKER_FAILURES,
            CIRCUIT_BREAKER_OPEN_FOR);

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 6379;
    public static final int DEFAULT_SENTINEL_PORT = 26379;
    public static final int DEFAULT_CONNECT_TIMEOUT = 1000;
    public static final int DEFAULT_READ_TIMEOUT = 1000;
    public static final int DEFAULT_KEEPALIVE_TIMEOUT = 60_000;
    public static final int DEFAULT_POOL_SIZE = 64;
    public static final int DEFAULT_POOL_WAIT = 1000;
    public static final int DEFAULT_MAX_REDIRECTIONS = 5;
    public static final int DEFAULT_CLIENT_CACHE_MAX_ENTRIES = 10_000;
    public static final long DEFAULT_CLIENT_CACHE_MAX_BYTES = 16L << 20;
    public static final int DEFAULT_CLIENT_CACHE_HEARTBEAT = 500;
    private static final int MAX_MILLIS = 600_000;

    public RedisSettings {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(circuitBreaker, "circuitBreaker");
        sentinels = List.copyOf(sentinels);
        nodes = List.copyOf(nodes);
    }

    /**
     * @param environment resolves {@code $env://NAME}; null only checks the config (secrets are
     *                    then returned unresolved)
     */
    public static RedisSettings parse(StorageConfig c, Function<String, String> environment) {
        c.requireOnly(KNOWN);
        String host = nonEmpty(c, HOST, DEFAULT_HOST);
        int port = c.getInt(PORT, DEFAULT_PORT, 1, 65535);
        String socket = nonEmpty(c, SOCKET, null);
        String username = nonEmpty(c, USERNAME, null);
        String password = secret(c, PASSWORD, environment);
        int database = c.getInt(DATABASE, 0, 0, Integer.MAX_VALUE);
        boolean ssl = c.getBoolean(SSL, false);
        boolean sslVerify = c.getBoolean(SSL_VERIFY, true);
        String serverName = nonEmpty(c, SERVER_NAME, null);
        String prefix = c.getString(PREFIX, null);
        String suffix = c.getString(SUFFIX, null);
        int connectTimeout = c.getInt(CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, 1, MAX_MILLIS);
        int readTimeout = c.getInt(READ_TIMEOUT, DEFAULT_READ_TIMEOUT, 1, MAX_MILLIS);
        int keepalive = c.getInt(KEEPALIVE_TIMEOUT, DEFAULT_KEEPALIVE_TIMEOUT, 1000, 24 * 3600 * 1000);
        int poolSize = c.getInt(POOL_SIZE, DEFAULT_POOL_SIZE, 1, 10_000);
        int poolWait = c.getInt(POOL_WAIT, DEFAULT_POOL_WAIT, 0, MAX_MILLIS);
        List<Node> sentinels = nodes(c, SENTINELS, DEFAULT_SENTINEL_PORT);
        String master = nonEmpty(c, MASTER, null);
        String sentinelUsername = nonEmpty(c, SENTINEL_USERNAME, null);
        String sentinelPassword = secret(c, SENTINEL_PASSWORD, environment);
        List<Node> nodes = nodes(c, NODES, DEFAULT_PORT);
        int maxRedirections = c.getInt(MAX_REDIRECTIONS, DEFAULT_MAX_REDIRECTIONS, 1, 100);

        if (c.has(SENTINELS) && c.has(NODES)) {
            throw new StorageConfigException(c.field(NODES), "use either sentinels (Sentinel) or nodes (Cluster), not both");
        }
        Mode mode = c.has(SENTINELS) ? Mode.SENTINEL : c.has(NODES) ? Mode.CLUSTER : Mode.STANDALONE;
        if (mode != Mode.STANDALONE) {
            List<Node> list = mode == Mode.SENTINEL ? sentinels : nodes;
            String key = mode == Mode.SENTINEL ? SENTINELS : NODES;
            if (list.isEmpty()) {
                throw new StorageConfigException(c.field(key), "must list at least one node");
            }
            for (String standaloneOnly : List.of(HOST, PORT, SOCKET)) {
                if (c.has(standaloneOnly)) {
                    throw new StorageConfigException(c.field(standaloneOnly),
                            "not used with " + key + "; the " + (mode == Mode.SENTINEL ? "master is found by the sentinels"
                                    : "cluster is reached through its nodes"));
                }
            }
        }
        if (mode == Mode.SENTINEL && master == null) {
            throw new StorageConfigException(c.field(MASTER), "is required with sentinels (the name the sentinels monitor)");
        }
        if (mode != Mode.SENTINEL) {
            for (String sentinelOnly : List.of(MASTER, SENTINEL_USERNAME, SENTINEL_PASSWORD)) {
                if (c.has(sentinelOnly)) {
                    throw new StorageConfigException(c.field(sentinelOnly), "only used with sentinels");
                }
            }
        }
        if (mode == Mode.CLUSTER && database != 0) {
            throw new StorageConfigException(c.field(DATABASE), "a Redis Cluster has only database 0");
        }
        if (mode != Mode.CLUSTER && c.has(MAX_REDIRECTIONS)) {
            throw new StorageConfigException(c.field(MAX_REDIRECTIONS), "only used with nodes (Cluster)");
        }
        if (socket != null && ssl) {
            throw new StorageConfigException(c.field(SSL), "not used with a unix socket");
        }
        if (!ssl && (c.has(SSL_VERIFY) || c.has(SERVER_NAME))) {
            String key = c.has(SERVER_NAME) ? SERVER_NAME : SSL_VERIFY;
            throw new StorageConfigException(c.field(key), "only used with \"ssl\": true");
        }
        if (username != null && password == null) {
            throw new StorageConfigException(c.field(USERNAME), "needs a password");
        }
        if (sentinelUsername != null && sentinelPassword == null) {
            throw new StorageConfigException(c.field(SENTINEL_USERNAME), "needs a sentinel_password");
        }
        return new RedisSettings(mode, host, port, socket, username, password, database, ssl, sslVerify, serverName,
                prefix, suffix, connectTimeout, readTimeout, keepalive, poolSize, poolWait, sentinels, master,
                sentinelUsername, sentinelPassword, nodes, maxRedirections, parseClientCache(c, poolSize),
                parseCircuitBreaker(c));
    }

    /** On by default: 5 consecutive failures open the circuit for a second; 0 failures turns it off. */
    private static CircuitBreaker.Settings parseCircuitBreaker(StorageConfig c) {
        int failures = c.getInt(CIRCUIT_BREAKER_FAILURES, CircuitBreaker.Settings.DEFAULT_FAILURES, 0, 1_000_000);
        int openFor = c.getInt(CIRCUIT_BREAKER_OPEN_FOR, (int) CircuitBreaker.Settings.DEFAULT_OPEN_FOR.toMillis(),
                1, MAX_MILLIS);
        if (failures == 0 && c.has(CIRCUIT_BREAKER_OPEN_FOR)) {
            throw new StorageConfigException(c.field(CIRCUIT_BREAKER_OPEN_FOR),
                    "only used with a \"circuit_breaker_failures\" above 0");
        }
        return new CircuitBreaker.Settings(failures, Duration.ofMillis(openFor));
    }

    /**
     * On by default; the invalidation connection counts against {@code pool_size}, so with
     * {@code pool_size} 1 the default is off and an explicit {@code true} is an error.
     */
    private static ClientCache parseClientCache(StorageConfig c, int poolSize) {
        boolean enabled = c.getBoolean(CLIENT_CACHE, poolSize > 1);
        int maxEntries = c.getInt(CLIENT_CACHE_MAX_ENTRIES, DEFAULT_CLIENT_CACHE_MAX_ENTRIES, 1, 10_000_000);
        long maxBytes = c.getLong(CLIENT_CACHE_MAX_BYTES, DEFAULT_CLIENT_CACHE_MAX_BYTES, 64L << 10, 64L << 30);
        int heartbeat = c.getInt(CLIENT_CACHE_HEARTBEAT, DEFAULT_CLIENT_CACHE_HEARTBEAT, 50, 60_000);
        if (!enabled) {
            for (String key : List.of(CLIENT_CACHE_MAX_ENTRIES, CLIENT_CACHE_MAX_BYTES, CLIENT_CACHE_HEARTBEAT)) {
                if (c.has(key)) {
                    throw new StorageConfigException(c.field(key), "only used with \"client_cache\": true");
                }
            }
            return ClientCache.OFF;
        }
        if (poolSize < 2) {
            throw new StorageConfigException(c.field(CLIENT_CACHE),
                    "needs a pool_size of at least 2 (its invalidation connection counts against pool_size)");
        }
        return new ClientCache(true, maxEntries, maxBytes, heartbeat);
    }

    /** Connections per node for commands: {@code pool_size}, less the client cache's invalidation connection. */
    public int dataPoolSize() {
        return clientCache.enabled() ? poolSize - 1 : poolSize;
    }

    /** Where this storage connects, for logs (no credentials). */
    public String describe() {
        return switch (mode) {
            case STANDALONE -> socket != null ? "unix:" + socket : host + ":" + port;
            case SENTINEL -> "master " + master + " via sentinels " + sentinels;
            case CLUSTER -> "cluster " + nodes;
        } + (database != 0 ? " db " + database : "") + (ssl ? " (tls)" : "");
    }

    /** Secrets stay out of toString (records print every component otherwise). */
    @Override
    public String toString() {
        return "RedisSettings[" + describe() + "]";
    }

    private static String nonEmpty(StorageConfig c, String key, String defaultValue) {
        String v = c.getString(key, defaultValue);
        if (v != null && v.isEmpty()) {
            throw new StorageConfigException(c.field(key), "must not be empty");
        }
        return v;
    }

    private static String secret(StorageConfig c, String key, Function<String, String> environment) {
        String v = environment == null ? c.getString(key, null) : c.getSecret(key, null, environment);
        if (v != null && v.isEmpty()) {
            throw new StorageConfigException(c.field(key), "must not be empty");
        }
        if (environment == null && v != null && v.equals("$env://")) {
            throw new StorageConfigException(c.field(key), "$env:// must be followed by a variable name");
        }
        return v;
    }

    /** A list of {host, port} objects; cluster nodes may say {@code ip} as lua-resty-session's do. */
    private static List<Node> nodes(StorageConfig c, String key, int defaultPort) {
        List<Node> out = new ArrayList<>();
        for (StorageConfig n : c.getObjectList(key)) {
            Set<String> allowed = key.equals(NODES) ? Set.of(HOST, "ip", PORT) : Set.of(HOST, PORT);
            n.requireOnly(allowed);
            if (n.has(HOST) && n.has("ip")) {
                throw new StorageConfigException(n.field("ip"), "give host or ip, not both");
            }
            String host = n.has("ip") ? nonEmpty(n, "ip", null) : nonEmpty(n, HOST, null);
            if (host == null) {
                throw new StorageConfigException(n.field(HOST), "is required");
            }
            out.add(new Node(host, n.getInt(PORT, defaultPort, 1, 65535)));
        }
        return out;
    }
}
