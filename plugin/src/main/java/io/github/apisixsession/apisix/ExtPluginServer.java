package io.github.apisixsession.apisix;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Our server of APISIX's ext-plugin protocol on a unix socket. One daemon thread per connection
 * ({@code a6-conn-N}, blocking I/O, at most {@link HostSettings#maxConnections()}), so a plugin
 * waiting on storage delays only its own connection; APISIX pools up to 32 connections per worker.
 * A watchdog thread ({@code a6-watchdog}) closes connections stuck inside a frame or idle too long.
 *
 * <pre>{@code
 * try (ExtPluginServer server = ExtPluginServer.start(HostSettings.of(socket), List.of(new MyPlugin()))) {
 *     ...
 * }
 * }</pre>
 */
public final class ExtPluginServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ExtPluginServer.class);

    /** How long {@link #close()} lets in-flight RPCs finish. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(5);

    private final HostSettings settings;
    private final Map<String, ExtPlugin<?>> plugins;
    private final ServerSocketChannel serverChannel;
    private final RpcDispatcher dispatcher;
    private final ThreadPoolExecutor workers;
    private final Set<A6Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final Thread acceptor;
    private final Thread watchdog;

    private ExtPluginServer(HostSettings settings, Map<String, ExtPlugin<?>> plugins, ServerSocketChannel channel) {
        this.settings = settings;
        this.plugins = plugins;
        this.serverChannel = channel;
        this.dispatcher = new RpcDispatcher(plugins, new ConfCache(settings));
        AtomicInteger threadCount = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(0, settings.maxConnections(), 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "a6-conn-" + threadCount.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.acceptor = new Thread(this::acceptLoop, "a6-accept");
        this.acceptor.setDaemon(true);
        this.watchdog = new Thread(this::watchLoop, "a6-watchdog");
        this.watchdog.setDaemon(true);
    }

    /**
     * Binds the socket (removing a stale socket file first), sets its permissions and starts
     * accepting.
     *
     * @param plugins the plugins conf entries may name; names must be unique
     * @throws IOException when the socket cannot be bound (or another process serves it)
     */
    public static ExtPluginServer start(HostSettings settings, List<? extends ExtPlugin<?>> plugins)
            throws IOException {
        Map<String, ExtPlugin<?>> byName = new LinkedHashMap<>();
        for (ExtPlugin<?> plugin : plugins) {
            if (byName.putIfAbsent(plugin.name(), plugin) != null) {
                throw new IllegalArgumentException("two plugins are named " + plugin.name());
            }
        }
        Path path = settings.socketPath();
        removeStaleSocket(path);
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.bind(UnixDomainSocketAddress.of(path), 1024);
            if (settings.socketMode() != null) {
                Files.setPosixFilePermissions(path, settings.socketMode());
            }
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        ExtPluginServer server = new ExtPluginServer(settings, byName, channel);
        server.acceptor.start();
        server.watchdog.start();
        return server;
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

    private static void removeStaleSocket(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        if (!attrs.isOther()) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            throw new IOException("another process is already serving " + path);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another process")) {
                throw e;
            }
            // connection refused: a stale socket from a previous run
        }
        Files.deleteIfExists(path);
        LOG.info("removed stale socket {}", path);
    }

    private void acceptLoop() {
        while (!closing.get()) {
            SocketChannel channel;
            try {
                channel = serverChannel.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.error("accept failed: {}", e.toString());
                sleepQuietly();
                continue;
            }
            if (register(channel) == null) {
                try {
                    channel.close();
                } catch (IOException e) {
                    LOG.debug("close failed: {}", e.toString());
                }
            }
        }
    }

    /**
     * Closes connections that wait too long for a frame ({@link HostSettings#frameTimeout()},
     * {@link HostSettings#idleTimeout()}), so a peer that sends half a frame, or a header and then
     * nothing, cannot hold a thread forever.
     */
    private void watchLoop() {
        long frame = settings.frameTimeout().toNanos();
        long idle = settings.idleTimeout().toNanos();
        long smallest = idle > 0 ? Math.min(frame, idle) : frame;
        long period = Math.max(50, Math.min(1000, smallest / 4_000_000));
        while (!closing.get()) {
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (A6Connection connection : connections) {
                connection.expireIfStuck(now, frame, idle);
            }
        }
    }

    private A6Connection register(SocketChannel channel) {
        A6Connection[] holder = new A6Connection[1];
        A6Connection connection = new A6Connection(channel, dispatcher, () -> connections.remove(holder[0]));
        holder[0] = connection;
        connections.add(connection);
        if (closing.get()) {
            connections.remove(connection);
            return null;
        }
        try {
            workers.execute(connection);
        } catch (RejectedExecutionException e) {
            connections.remove(connection);
            LOG.warn("refusing a connection: {} connections already served", settings.maxConnections());
            return null;
        }
        return connection;
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Graceful shutdown with {@link #DEFAULT_SHUTDOWN_GRACE}. */
    @Override
    public void close() {
        shutdown(DEFAULT_SHUTDOWN_GRACE);
    }

    /**
     * Stops accepting, lets in-flight RPCs finish for at most {@code grace}, closes every
     * connection, calls {@link ExtPlugin#close()} on every plugin and deletes the socket file.
     * Idempotent; later calls wait for the first to finish.
     */
    public void shutdown(Duration grace) {
        if (!closing.compareAndSet(false, true)) {
            awaitTerminationQuietly();
            return;
        }
        try {
            try {
                serverChannel.close();
            } catch (IOException e) {
                LOG.warn("closing the server socket failed: {}", e.toString());
            }
            watchdog.interrupt();
            for (A6Connection connection : new ArrayList<>(connections)) {
                connection.shutdown();
            }
            workers.shutdown();
            boolean done;
            try {
                done = workers.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                done = false;
            }
            if (!done) {
                LOG.warn("{} connection(s) still busy after {} ms; closing them", connections.size(), grace.toMillis());
                for (A6Connection connection : new ArrayList<>(connections)) {
                    connection.closeQuietly();
                }
                workers.shutdownNow();
            }
            for (ExtPlugin<?> plugin : plugins.values()) {
                try {
                    plugin.close();
                } catch (RuntimeException e) {
                    LOG.warn("plugin {} failed to close: {}: {}", plugin.name(), e.getClass().getName(), e.getMessage());
                }
            }
            try {
                Files.deleteIfExists(settings.socketPath());
            } catch (IOException e) {
                LOG.warn("deleting {} failed: {}", settings.socketPath(), e.toString());
            }
            LOG.info("stopped serving {}", settings.socketPath());
        } finally {
            terminated.countDown();
        }
    }

    /** Blocks until the server has shut down. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    private void awaitTerminationQuietly() {
        try {
            terminated.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
