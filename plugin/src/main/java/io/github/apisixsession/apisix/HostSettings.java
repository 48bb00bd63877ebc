package io.github.apisixsession.apisix;

import io.github.apisixsession.core.persistence.SessionStorages;

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
 * @param frameTimeout   a connection is closed when a frame it started is not complete after this
 *                       long, or when an ExtraInfo answer takes this long
 *                       ({@code SESSION_RUNNER_FRAME_TIMEOUT}, seconds, default 60: APISIX's own
 *                       send and read timeout, after which it has given up on the RPC anyway)
 * @param idleTimeout    a connection with no RPC for this long is closed; zero keeps idle
 *                       connections forever ({@code SESSION_RUNNER_IDLE_TIMEOUT}, seconds, default
 *                       600: longer than APISIX's 180 s keepalive, so APISIX closes first)
 * @param peers          who may connect ({@code SESSION_RUNNER_ALLOW_UIDS}, {@code SESSION_RUNNER_ALLOW_GIDS})
 * @param takeover       whether a runner that finds another one serving the path takes the path
 *                       over while the other drains ({@code SESSION_RUNNER_TAKEOVER}, default true),
 *                       or refuses to start
 * @param handoverWait   after SIGTERM, how long the runner keeps serving while no successor has taken
 *                       the path over ({@code SESSION_RUNNER_HANDOVER_WAIT}, seconds; default
 *                       {@link #DEFAULT_HANDOVER_WAIT_UNDER_APISIX} for APISIX's own socket
 *                       {@code apisix-<pid>.sock}, i.e. under {@code ext-plugin.cmd}, else 0)
 * @param drainTimeout   how long in-flight RPCs are given once draining began
 *                       ({@code SESSION_RUNNER_DRAIN_TIMEOUT}, seconds, default 5)
 */
public record HostSettings(
        Path socketPath,
        Duration confExpiry,
        Duration confGrace,
        long confCapacity,
        Set<PosixFilePermission> socketMode,
        int maxConnections,
        Ticker ticker,
        Duration frameTimeout,
        Duration idleTimeout,
        PeerPolicy peers,
        boolean takeover,
        Duration handoverWait,
        Duration drainTimeout) {

    public static final Duration DEFAULT_CONF_EXPIRY = Duration.ofSeconds(3600);
    public static final Duration DEFAULT_CONF_GRACE = Duration.ofSeconds(10);
    public static final long DEFAULT_CONF_CAPACITY = 100_000;
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    /**
     * 0666 when no group is listed: APISIX spawns the runner from its privileged agent (usually
     * root) while the nginx workers that connect usually run as another user (nobody), whom the
     * runner cannot know before they connect; the peer check ({@link PeerPolicy}) refuses everyone
     * else. With {@code SESSION_RUNNER_ALLOW_GIDS} the socket belongs to the first group listed and
     * gets {@link #GROUP_SOCKET_MODE}.
     */
    public static final String DEFAULT_SOCKET_MODE = "0666";
    public static final String GROUP_SOCKET_MODE = "0660";
    public static final Duration DEFAULT_FRAME_TIMEOUT = Duration.ofSeconds(60);
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(600);
    /**
     * Under {@code ext-plugin.cmd} an {@code apisix reload} sends the old runner SIGTERM 0.1 s after
     * the new runner's exec, while the new runner is still starting, and kills it one second later:
     * serving on for 0.6 s of that bridges the new runner's start up to about 0.7 s and leaves
     * 0.4 s to drain (answer what is in flight) before the kill, also on a busy machine.
     */
    public static final Duration DEFAULT_HANDOVER_WAIT_UNDER_APISIX = Duration.ofMillis(600);
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(5);
    /** The file name APISIX gives the socket it passes to a runner it spawns. */
    private static final java.util.regex.Pattern APISIX_SOCKET = java.util.regex.Pattern.compile("apisix-\\d+\\.sock");

    public HostSettings {
        Objects.requireNonNull(socketPath, "socketPath");
        Objects.requireNonNull(confExpiry, "confExpiry");
        Objects.requireNonNull(confGrace, "confGrace");
        Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(frameTimeout, "frameTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(peers, "peers");
        Objects.requireNonNull(handoverWait, "handoverWait");
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        if (handoverWait.isNegative() || drainTimeout.isNegative()) {
            throw new IllegalArgumentException("the handover wait and the drain timeout must not be negative");
        }
        if (frameTimeout.isNegative() || frameTimeout.isZero() || idleTimeout.isNegative()) {
            throw new IllegalArgumentException("the frame timeout must be positive and the idle timeout not negative");
        }
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
                parseMode(DEFAULT_SOCKET_MODE), DEFAULT_MAX_CONNECTIONS, Ticker.systemTicker(),
                DEFAULT_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT, PeerPolicy.gatewayWorkers(), true,
                defaultHandoverWait(socketPath), DEFAULT_DRAIN_TIMEOUT);
    }

    public HostSettings withConfExpiry(Duration expiry, Duration grace) {
        return new HostSettings(socketPath, expiry, grace, confCapacity, socketMode, maxConnections, ticker, frameTimeout, idleTimeout,
                peers, takeover, handoverWait, drainTimeout);
    }

    public HostSettings withConfCapacity(long capacity) {
        return new HostSettings(socketPath, confExpiry, confGrace, capacity, socketMode, maxConnections, ticker, frameTimeout, idleTimeout,
                peers, takeover, handoverWait, drainTimeout);
    }

    public HostSettings withTicker(Ticker newTicker) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, maxConnections, newTicker, frameTimeout, idleTimeout,
                peers, takeover, handoverWait, drainTimeout);
    }

    public HostSettings withSocketMode(Set<PosixFilePermission> mode) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, mode, maxConnections, ticker, frameTimeout, idleTimeout,
                peers, takeover, handoverWait, drainTimeout);
    }

    public HostSettings withMaxConnections(int max) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, max, ticker, frameTimeout, idleTimeout,
                peers, takeover, handoverWait, drainTimeout);
    }

    public HostSettings withTimeouts(Duration frame, Duration idle) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, maxConnections, ticker,
                frame, idle, peers, takeover, handoverWait, drainTimeout);
    }

    public HostSettings withPeers(PeerPolicy policy) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, maxConnections, ticker,
                frameTimeout, idleTimeout, policy, takeover, handoverWait, drainTimeout);
    }

    /** Whether to take the path over from a running runner, how long to serve on after SIGTERM, how long to drain. */
    public HostSettings withLifecycle(boolean takeOver, Duration handover, Duration drain) {
        return new HostSettings(socketPath, confExpiry, confGrace, confCapacity, socketMode, maxConnections, ticker,
                frameTimeout, idleTimeout, peers, takeOver, handover, drain);
    }

    /** {@link #DEFAULT_HANDOVER_WAIT_UNDER_APISIX} for a socket named as APISIX names the one it spawns a runner on, else 0. */
    static Duration defaultHandoverWait(Path socket) {
        Path name = socket.getFileName();
        return name != null && APISIX_SOCKET.matcher(name.toString()).matches()
                ? DEFAULT_HANDOVER_WAIT_UNDER_APISIX : Duration.ZERO;
    }

    /** The time after its PrepareConf at which a conf token is forgotten. */
    public Duration confLifetime() {
        return confExpiry.plus(confGrace);
    }

    /**
     * Reads {@code APISIX_LISTEN_ADDRESS} (required), {@code APISIX_CONF_EXPIRE_TIME},
     * {@code SESSION_RUNNER_CONF_GRACE}, {@code SESSION_RUNNER_CONF_CAPACITY},
     * {@code SESSION_RUNNER_SOCKET_MODE}, {@code SESSION_RUNNER_FRAME_TIMEOUT},
     * {@code SESSION_RUNNER_IDLE_TIMEOUT}, {@code SESSION_RUNNER_ALLOW_UIDS},
     * {@code SESSION_RUNNER_ALLOW_GIDS}, {@code SESSION_RUNNER_TAKEOVER},
     * {@code SESSION_RUNNER_HANDOVER_WAIT} and {@code SESSION_RUNNER_DRAIN_TIMEOUT}.
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
        PeerPolicy peers = PeerPolicy.fromEnv(env);
        String modeText = env.getOrDefault("SESSION_RUNNER_SOCKET_MODE", "").trim();
        if (modeText.isEmpty()) {
            modeText = peers.socketGroup() == null ? DEFAULT_SOCKET_MODE : GROUP_SOCKET_MODE;
        }
        Set<PosixFilePermission> mode;
        try {
            mode = parseMode(modeText);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("SESSION_RUNNER_SOCKET_MODE " + e.getMessage());
        }
        long frame = nonNegative(env, "SESSION_RUNNER_FRAME_TIMEOUT", DEFAULT_FRAME_TIMEOUT.toSeconds());
        if (frame < 1) {
            throw new IllegalArgumentException("SESSION_RUNNER_FRAME_TIMEOUT must be at least 1");
        }
        long idle = nonNegative(env, "SESSION_RUNNER_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT.toSeconds());
        boolean takeover = flag(env, "SESSION_RUNNER_TAKEOVER", true);
        Duration handover = seconds(env, "SESSION_RUNNER_HANDOVER_WAIT", defaultHandoverWait(path));
        Duration drain = seconds(env, "SESSION_RUNNER_DRAIN_TIMEOUT", DEFAULT_DRAIN_TIMEOUT);
        return new HostSettings(path, expiry, grace, capacity, mode, DEFAULT_MAX_CONNECTIONS, Ticker.systemTicker(),
                Duration.ofSeconds(frame), Duration.ofSeconds(idle), peers, takeover, handover, drain);
    }

    private static boolean flag(Map<String, String> env, String name, boolean fallback) {
        String text = env.get(name);
        if (text == null || text.isBlank()) {
            return fallback;
        }
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new IllegalArgumentException(name + " must be true or false, got: " + text);
        };
    }

    /** Seconds with up to three decimals ({@code 0.75}), not negative. */
    private static Duration seconds(Map<String, String> env, String name, Duration fallback) {
        String text = env.get(name);
        if (text == null || text.isBlank()) {
            return fallback;
        }
        try {
            java.math.BigDecimal value = new java.math.BigDecimal(text.trim());
            if (value.signum() < 0 || value.scale() > 3 || value.compareTo(java.math.BigDecimal.valueOf(86_400)) > 0) {
                throw new NumberFormatException();
            }
            return Duration.ofMillis(value.movePointRight(3).longValueExact());
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(name + " must be seconds between 0 and 86400, e.g. 0.75, got: " + text);
        }
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
