package io.github.apisixsession.simulator;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * APISIX's cosocket keepalive pool for the runner socket: any number of connections may be open at
 * once (one per RPC in flight), and after a successful RPC a connection goes back to the pool if
 * fewer than {@code maxIdle} (32) are idle, else it is closed ({@code sock:setkeepalive(180000, 32)}).
 * A failed RPC closes its connection.
 */
public final class ConnectionPool implements AutoCloseable {
    private static final long KEEPALIVE_NANOS = Duration.ofSeconds(180).toNanos();

    private final Path socket;
    private final int maxIdle;
    private final Duration readTimeout;
    private final Deque<RunnerConnection> idle = new ArrayDeque<>();
    private final AtomicInteger opened = new AtomicInteger();
    private final AtomicInteger inUse = new AtomicInteger();
    private volatile int maxInUse;
    private boolean closed;

    public ConnectionPool(Path socket, int maxIdle, Duration readTimeout) {
        this.socket = socket;
        this.maxIdle = maxIdle;
        this.readTimeout = readTimeout;
    }

    /** An idle connection if a usable one is pooled, else a new one. */
    public RunnerConnection acquire() throws IOException {
        while (true) {
            RunnerConnection c;
            synchronized (this) {
                if (closed) {
                    throw new IOException("pool closed");
                }
                c = idle.pollFirst();
            }
            if (c == null) {
                break;
            }
            if (c.idleNanos() < KEEPALIVE_NANOS && c.stillUsable()) {
                noteInUse();
                return c;
            }
            c.close();
        }
        RunnerConnection c = RunnerConnection.open(socket, readTimeout, opened.incrementAndGet());
        noteInUse();
        return c;
    }

    private void noteInUse() {
        int n = inUse.incrementAndGet();
        synchronized (this) {
            if (n > maxInUse) {
                maxInUse = n;
            }
        }
    }

    /** Back to the pool after a successful RPC (or closed when the pool is full). */
    public void release(RunnerConnection c) {
        inUse.decrementAndGet();
        synchronized (this) {
            if (!closed && c.isOpen() && idle.size() < maxIdle) {
                c.markIdle();
                idle.addFirst(c);
                return;
            }
        }
        c.close();
    }

    /** Closes a connection after a failed RPC. */
    public void discard(RunnerConnection c) {
        inUse.decrementAndGet();
        c.close();
    }

    /** Drops every idle connection (e.g. after the runner went away). */
    public synchronized void clear() {
        idle.forEach(RunnerConnection::close);
        idle.clear();
    }

    public synchronized int idleCount() {
        return idle.size();
    }

    /** How many connections were ever opened. */
    public int openedCount() {
        return opened.get();
    }

    /** The most connections that were in use at the same time. */
    public int maxConcurrent() {
        return maxInUse;
    }

    public Path socket() {
        return socket;
    }

    @Override
    public synchronized void close() {
        closed = true;
        clear();
    }
}
