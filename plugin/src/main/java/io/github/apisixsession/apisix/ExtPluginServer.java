package io.github.apisixsession.apisix;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Our server of APISIX's ext-plugin protocol on a unix socket. One daemon thread per connection
 * ({@code a6-conn-N}, blocking I/O, at most {@link HostSettings#maxConnections()}), so a plugin
 * waiting on storage delays only its own connection; APISIX pools up to 32 connections per worker.
 * A watchdog thread ({@code a6-watchdog}) closes connections stuck inside a frame or idle too long
 * and notices when another runner took the socket's path over.
 *
 * <p>Life: {@link #open} binds the socket and publishes it under the configured path (at once, or,
 * when another runner serves the path, once this one is ready); connections are accepted and wait
 * until {@link #serve} hands over the plugins. {@link #stop} (SIGTERM) serves on while no
 * successor took over, for at most {@link HostSettings#handoverWait()}; then, or when a successor
 * takes over, it drains ({@link Drain}) and terminates.
 *
 * <pre>{@code
 * try (ExtPluginServer server = ExtPluginServer.start(HostSettings.of(socket), List.of(new MyPlugin()))) {
 *     ...
 * }
 * }</pre>
 */
public final class ExtPluginServer implements AutoCloseable, ConnectionHost {

    private static final Logger LOG = LoggerFactory.getLogger(ExtPluginServer.class);

    /** How long {@link #close()} lets in-flight RPCs finish. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE = HostSettings.DEFAULT_DRAIN_TIMEOUT;

    private final HostSettings settings;
    private final HostMetrics metrics;
    private final Consumer<VirtualMachineError> fatal;
    private final PeerGate gate;
    /** Made by {@link #serve}: Caffeine's start-up is not needed to publish the socket. */
    private volatile ConfCache confCache;
    private final ThreadPoolExecutor workers;
    private final Set<A6Connection> connections = ConcurrentHashMap.newKeySet();
    private final Acceptor acceptor;
    private final Thread watchdog;
    private final Drain drain;
    private final CountDownLatch ready = new CountDownLatch(1);
    private volatile SocketFile socket;
    private volatile RpcDispatcher dispatcher;
    private volatile Map<String, ExtPlugin<?>> plugins = Map.of();
    private volatile Succession succession = new Succession(null);
    private volatile boolean stopping;

    private ExtPluginServer(HostSettings settings, HostMetrics metrics, Consumer<VirtualMachineError> fatal)
            throws IOException {
        this.settings = settings;
        this.metrics = metrics;
        this.fatal = fatal;
        this.gate = new PeerGate(settings.peers(), metrics);
        AtomicInteger threadCount = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(0, settings.maxConnections(), 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "a6-conn-" + threadCount.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.acceptor = new Acceptor(this::register);
        this.watchdog = new Thread(this::watchLoop, "a6-watchdog");
        this.watchdog.setDaemon(true);
        this.drain = new Drain(connections, workers);
    }

    /** {@link #open} then {@link #serve}: binds, publishes and serves {@code plugins}. */
    public static ExtPluginServer start(HostSettings settings, List<? extends ExtPlugin<?>> plugins)
            throws IOException {
        checkNames(plugins);
        ExtPluginServer server = open(settings);
        try {
            server.serve(plugins);
        } catch (IOException | RuntimeException e) {
            server.shutdown(Duration.ZERO);
            throw e;
        }
        return server;
    }

    /** {@link #open(HostSettings, HostMetrics, Consumer)} counting into the runner's metrics; an Error ends the process. */
    public static ExtPluginServer open(HostSettings settings) throws IOException {
        return open(settings, PrometheusMetrics.shared(), FatalErrors::exit);
    }

    /**
     * Binds the socket and starts accepting; RPCs wait until {@link #serve}. A stale socket file
     * is replaced. When another runner serves the path, this one takes it over
     * ({@link HostSettings#takeover()}): at once if that runner is stopping, else in {@link #serve},
     * once ready, while the other drains.
     *
     * @throws IOException when the socket cannot be bound, or another runner serves the path and
     *                     takeover is off
     */
    public static ExtPluginServer open(HostSettings settings, HostMetrics metrics, Consumer<VirtualMachineError> fatal)
            throws IOException {
        ExtPluginServer server = new ExtPluginServer(settings, metrics, fatal);
        Path path = settings.socketPath();
        SocketFile.Occupant occupant = SocketFile.occupant(path);
        if (occupant == SocketFile.Occupant.LIVE_SOCKET && !settings.takeover()) {
            throw new IOException("another process is already serving " + path + " (SESSION_RUNNER_TAKEOVER=false)");
        }
        server.socket = SocketFile.bind(path, settings.socketMode(), settings.peers().socketGroup(), 1024);
        try {
            if (occupant == SocketFile.Occupant.LIVE_SOCKET) {
                server.succession = new Succession(
                        new Handover.Predecessor(SocketChannel.open(UnixDomainSocketAddress.of(path))));
                if (server.succession.predecessorStopping()) {
                    server.succession.takeOver(server.socket::publish, path.toString(), "it is stopping");
                }
            } else {
                server.socket.publish();
                if (occupant == SocketFile.Occupant.STALE_SOCKET) {
                    LOG.info("replaced the stale socket {}", path);
                }
            }
        } catch (IOException | RuntimeException e) {
            server.socket.unpublish();
            server.socket.close();
            server.succession.close();
            throw e;
        }
        server.acceptor.add(server.socket.channel());
        server.acceptor.start();
        server.watchdog.start();
        return server;
    }

    /**
     * Serves {@code plugins} from now on: takes the path over if another runner still serves it,
     * answers the conf tokens that runner handed over, and releases the RPCs waiting.
     */
    public void serve(List<? extends ExtPlugin<?>> list) throws IOException {
        Map<String, ExtPlugin<?>> byName = checkNames(list);
        confCache = new ConfCache(settings);
        RpcDispatcher d = new RpcDispatcher(byName, confCache);
        plugins = byName;
        if (!socket.published() && !drain.started()) {
            succession.takeOverWhenReady(socket::publish, settings.socketPath().toString(), d, confCache);
        } else {
            succession.adoptInherited(d, confCache, true);
        }
        dispatcher = d;
        ready.countDown();
    }

    private static Map<String, ExtPlugin<?>> checkNames(List<? extends ExtPlugin<?>> list) {
        Map<String, ExtPlugin<?>> byName = new LinkedHashMap<>();
        for (ExtPlugin<?> plugin : list) {
            if (byName.putIfAbsent(plugin.name(), plugin) != null) {
                throw new IllegalArgumentException("two plugins are named " + plugin.name());
            }
        }
        return byName;
    }

    public Path socketPath() {
        return settings.socketPath();
    }

    public List<String> pluginNames() {
        return List.copyOf(plugins.keySet());
    }

    /** Connections being served now. */
    public int connectionCount() {
        return connections.size();
    }

    // ---- ConnectionHost ----

    @Override
    public UnixDomainPrincipal admit(SocketChannel channel, long acceptedAt) {
        return gate.admit(channel, acceptedAt);
    }

    @Override
    public RpcDispatcher awaitDispatcher() throws InterruptedException {
        ready.await();
        return dispatcher;
    }

    @Override
    public boolean handover(A6Frame request, SocketChannel channel, UnixDomainPrincipal peer) throws IOException {
        if (!settings.peers().isSelfOrRoot(peer)) {
            LOG.warn("refused a handover request from user {}: only the runner's own user and root may take over",
                    peer.user().getName());
            return false;
        }
        boolean export = Handover.op(request) == Handover.EXPORT;
        ConfCache confs = confCache;
        if (!Handover.answer(request, channel, stopping, confs == null ? List.of() : confs.live())) {
            return false;
        }
        if (export) {
            LOG.info("a new runner took {} over: draining", settings.socketPath());
            drainInBackground();
        }
        return true;
    }

    @Override
    public void fatal(VirtualMachineError error) {
        fatal.accept(error);
    }

    @Override
    public void exited(A6Connection connection) {
        connections.remove(connection);
    }

    private void register(SocketChannel channel, long acceptedAt) {
        A6Connection connection = new A6Connection(channel, this, acceptedAt);
        connections.add(connection);
        if (drain.started()) {
            connection.drain();
        }
        try {
            workers.execute(connection);
        } catch (RejectedExecutionException e) {
            connections.remove(connection);
            metrics.connectionRefused(HostMetrics.Refusal.LIMIT);
            LOG.warn("refusing a connection: {} connections already served", settings.maxConnections());
            connection.closeQuietly();
        }
    }

    /**
     * Closes connections that wait too long for a frame ({@link HostSettings#frameTimeout()},
     * {@link HostSettings#idleTimeout()}), so a peer that sends half a frame, or a header and then
     * nothing, cannot hold a thread forever; closes quiet connections while draining; and notices
     * when the path no longer names this runner's socket (taken over: drain; deleted: publish again).
     */
    private void watchLoop() {
        long frame = settings.frameTimeout().toNanos();
        long idle = settings.idleTimeout().toNanos();
        long smallest = idle > 0 ? Math.min(frame, idle) : frame;
        long period = Math.max(20, Math.min(Drain.QUIET.toMillis() / 3, smallest / 4_000_000));
        while (!drain.finished()) {
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (A6Connection connection : connections) {
                connection.expireIfStuck(now, frame, idle);
            }
            if (drain.started()) {
                drain.closeQuiet(now);
            } else {
                checkStanding();
            }
        }
    }

    private void checkStanding() {
        SocketFile current = socket;
        if (!current.published()) {
            return;
        }
        switch (current.standing()) {
            case REPLACED -> {
                LOG.info("{} now names another runner's socket: draining", settings.socketPath());
                drainInBackground();
            }
            case MISSING -> republish();
            default -> { }
        }
    }

    /** The socket file was deleted (by hand, or by an old runner's exit racing this one's start). */
    private void republish() {
        try {
            SocketFile again = SocketFile.bind(settings.socketPath(), settings.socketMode(),
                    settings.peers().socketGroup(), 1024);
            again.publish();
            acceptor.add(again.channel());
            socket = again;
            LOG.warn("{} was deleted: published the socket again", settings.socketPath());
        } catch (IOException e) {
            LOG.error("{} was deleted and cannot be published again: {}", settings.socketPath(), e.toString());
        }
    }

    // ---- stopping ----

    /** Graceful shutdown with {@link HostSettings#drainTimeout()}. */
    @Override
    public void close() {
        shutdown(settings.drainTimeout());
    }

    /**
     * SIGTERM: serve on while the path is still this runner's and no successor took it over, for
     * at most {@link HostSettings#handoverWait()}; then drain ({@link #shutdown}). Blocks until done.
     */
    public void stop() {
        stopping = true;
        long deadline = System.nanoTime() + settings.handoverWait().toNanos();
        while (!drain.started() && socket.standing() == SocketFile.Standing.OURS && System.nanoTime() < deadline) {
            sleep(10);
        }
        shutdown(settings.drainTimeout());
    }

    private void drainInBackground() {
        if (!drain.started()) {
            Thread t = new Thread(() -> shutdown(settings.drainTimeout()), "a6-drain");
            t.setDaemon(false);
            t.start();
        }
    }

    /**
     * Drains: deletes the socket file if it still names this runner's socket (never a successor's),
     * accepts what is queued and stops listening, answers every RPC in flight or arriving on an
     * open connection and closes each connection after its reply (quiet ones after
     * {@link Drain#QUIET}), for at most {@code grace}; then closes what is left and every plugin.
     * Idempotent; later calls wait for the first to finish.
     */
    public void shutdown(Duration grace) {
        if (!drain.begin()) {
            drain.awaitQuietly();
            return;
        }
        try {
            SocketFile current = socket;
            if (current.unpublish()) {
                LOG.info("deleted {}", settings.socketPath());
            }
            acceptor.finish();
            ready.countDown(); // RPCs still waiting for plugins get no dispatcher and close
            succession.close();
            drain.run(grace);
            for (ExtPlugin<?> plugin : plugins.values()) {
                try {
                    plugin.close();
                } catch (RuntimeException e) {
                    LOG.warn("plugin {} failed to close: {}: {}", plugin.name(), e.getClass().getName(), e.getMessage());
                }
            }
            LOG.info("stopped serving {}", settings.socketPath());
        } finally {
            drain.finish();
            watchdog.interrupt();
        }
    }

    /** Blocks until the server has shut down. */
    public void awaitTermination() throws InterruptedException {
        drain.await();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether this server drains (it stops, or another runner took its path over). */
    boolean draining() {
        return drain.connectionsDraining();
    }
}
