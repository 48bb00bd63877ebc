package io.github.apisixsession.apisix;

import io.github.apisixsession.core.SessionStorages;

import com.github.benmanes.caffeine.cache.Ticker;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * How the host runs.
 *
 * @param socketPath     the unix socket to listen on (from {@code APISIX_LISTEN_ADDRESS=unix:/abs/path})
 * @param confExpiry     how long APISIX keeps a conf token ({@code APISIX_CONF_EXPIRE_TIME}, seconds)
 * @param confGrace      added to {@code confExpiry} so our entry outlives APISIX's
 *                       ({@code SESSION_RUNNER_CONF_GRACE}, seconds, default 10 like the official runner)
 * @param confCapacity   most conf tokens kept ({@code SESSION_RUNNER_CONF_CAPACITY})
 * @param socketMode     permissions set on the socket file, null to leave the umask's
 *                       ({@code SESSION_RUNNER_SOCKET_MODE}, octal)
 * @param maxConnections most connections served at once (one thread each)
 * @param ticker         the conf cache's clock (tests pass a fake one)
 */
public record HostSettings(
        Path socketPath,
        Duration confExpiry,
        Duration confGrace,
        long confCapacity,
        Set<PosixFilePermission> socketMode,
        int maxConnections,
        Ticker ticker) {

    public static final Duration DEFAULT_CONF_EXPIRY = Duration.ofSeconds(3600);
    public static final Duration DEFAULT_CONF_GRACE = Duration.ofSeconds(10);
    public static final long DEFAULT_CONF_CAPACITY = 100_000;
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    /**
     * 0777 like the official runner 0.4.0: APISIX spawns the runner from its privileged agent
     * (usually root) while the nginx workers that connect usually run as another user (nobody);
     * with a tighter mode they get "permission denied". Keep the socket in a directory only the
     * right users can reach, or set SESSION_RUNNER_SOCKET_MODE (e.g. 0660 with a shared group).
     */
    public static final String DEFAULT_SOCKET_MODE = "0777";

    public HostSettings {
        Objects.requireNonNull(socketPath, "socketPath");
        Objects.requireNonNull(confExpiry, "confExpiry");
        Objects.requireNonNull(confGrace, "confGrace");
        Objects.requireNonNull(ticker, "ticker");
        socketPath = socketPath.toAbsolutePath();
        if (confExpiry.isNegative() || confGrace.isNegative()) {
            throw new IllegalArgumentException("conf expiry and grace must not be negative");
        }
        if (confCapacity < 1 || maxConnections < 1) {
            throw new IllegalArgumentException("conf capacity and max connections must be positive");
        }
        socketMode = socketMode == null ? null : Set.copyOf(socketMode);
    }

    /** Defaults everywhere but the socket path. */
    public static HostSettings of(Path socketPath) {
        return new HostSettings(socketPath, DEFAULT_CONF_EXPIRY, DEFAULT_CONF_GRACE, DEFAULT_CONF_CAPACITY,
                parseMode(DEFAULT_SOCKET_MODE), DEFAULT_MAX_CONNECTIONS, Ticker.systemTicker());
    }

    public HostSettings withConfExpiry(Duration expiry, Duration grace) {
        return new HostSettings(socketPath, expiry, grace, confCapacity, socketMode, maxConnections, ticker);
    }

    public HostSettings withConfCapacity(long capacity) {
        return new HostSettings(socketPath, confExpiry, confGrace, capacity, socketMode, maxConnections, ticker);
    }

    public HostSettings withTicker(Ticker newTicker) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, maxConnections, newTicker);
    }

    public HostSettings withSocketMode(Set<PosixFilePermission> mode) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, mode, maxConnections, ticker);
    }

    public HostSettings withMaxConnections(int max) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, max, ticker);
    }

    /** The time after its PrepareConf at which a conf token is forgotten. */
    public Duration confLifetime() {
        return confExpiry.plus(confGrace);
    }

    /**
     * Reads {@code APISIX_LISTEN_ADDRESS} (required), {@code APISIX_CONF_EXPIRE_TIME},
     * {@code SESSION_RUNNER_CONF_GRACE}, {@code SESSION_RUNNER_CONF_CAPACITY} and
     * {@code SESSION_RUNNER_SOCKET_MODE}.
     *
     * @throws IllegalArgumentException with a message fit for the operator
     */
    public static HostSettings fromEnv(Map<String, String> env) {
        String address = env.get("APISIX_LISTEN_ADDRESS");
        if (address == null || address.isBlank()) {
            throw new IllegalArgumentException("APISIX_LISTEN_ADDRESS is not set (expected unix:/absolute/path)");
        }
        if (!address.startsWith("unix:") || !address.substring(5).startsWith("/")) {
            throw new IllegalArgumentException(
                    "APISIX_LISTEN_ADDRESS must be unix:/absolute/path, got: " + address);
        }
        Path path = Path.of(address.substring(5));
        Duration expiry = Duration.ofSeconds(nonNegative(env, "APISIX_CONF_EXPIRE_TIME", DEFAULT_CONF_EXPIRY.toSeconds()));
        Duration grace = Duration.ofSeconds(nonNegative(env, "SESSION_RUNNER_CONF_GRACE", DEFAULT_CONF_GRACE.toSeconds()));
        long capacity = nonNegative(env, "SESSION_RUNNER_CONF_CAPACITY", DEFAULT_CONF_CAPACITY);
        if (capacity < 1) {
            throw new IllegalArgumentException("SESSION_RUNNER_CONF_CAPACITY must be at least 1");
        }
        storageIdleClose(env); // read by the session plugin; a bad value stops the start here
        String modeText = env.getOrDefault("SESSION_RUNNER_SOCKET_MODE", DEFAULT_SOCKET_MODE).trim();
        Set<PosixFilePermission> mode;
        try {
            mode = parseMode(modeText);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("SESSION_RUNNER_SOCKET_MODE " + e.getMessage());
        }
        return new HostSettings(path, expiry, grace, capacity, mode, DEFAULT_MAX_CONNECTIONS, Ticker.systemTicker());
    }

    /** Parses an octal mode such as {@code 0777} or {@code 660}. */
    public static Set<PosixFilePermission> parseMode(String octal) {
        int bits;
        try {
            bits = Integer.parseInt(octal, 8);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be an octal mode such as 0777, got: " + octal);
        }
        if (bits < 0 || bits > 0777) {
            throw new IllegalArgumentException("must be an octal mode between 0 and 0777, got: " + octal);
        }
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < order.length; i++) {
            if ((bits & (1 << i)) != 0) {
                set.add(order[i]);
            }
        }
        return set;
    }

    /**
     * {@code SESSION_RUNNER_STORAGE_IDLE_CLOSE}: seconds a storage no route uses stays open
     * (default 60; at least 1).
     */
    static Duration storageIdleClose(Map<String, String> env) {
        long seconds = nonNegative(env, "SESSION_RUNNER_STORAGE_IDLE_CLOSE",
                SessionStorages.DEFAULT_IDLE_CLOSE.toSeconds());
        if (seconds < 1) {
            throw new IllegalArgumentException("SESSION_RUNNER_STORAGE_IDLE_CLOSE must be at least 1");
        }
        return Duration.ofSeconds(seconds);
    }

    private static long nonNegative(Map<String, String> env, String name, long fallback) {
        String text = env.get(name);
        if (text == null || text.isBlank()) {
            return fallback;
        }
        try {
            long value = Long.parseLong(text.trim());
            if (value < 0) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a non-negative integer, got: " + text);
        }
    }
}
