package io.github.apisixsession.apisix;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of a server's connections once nothing new can reach it: every RPC in flight, or
 * arriving on a connection still open, is answered with a last reply that keeps nginx from pooling
 * the connection again, and the connection is closed; a connection with nothing to do is closed
 * once it has been quiet for {@link #QUIET}; after the grace period whatever is left is closed.
 *
 * <p>Why not close idle connections at once: APISIX keeps them in its pool and may be sending an
 * RPC on one right now; closing it then fails that request ("connection reset", "broken pipe"),
 * which is what a runner stopping under load used to cost. One quiet for a while is one APISIX's
 * pool (most recently used first) is not handing out.
 */
final class Drain {

    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);

    /** How long a connection must have been idle while draining before it is closed. */
    static final Duration QUIET = Duration.ofMillis(100);

    private final Set<A6Connection> connections;
    private final ThreadPoolExecutor workers;
    private final AtomicBoolean begun = new AtomicBoolean();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile long startedAt;
    private volatile boolean marked;

    Drain(Set<A6Connection> connections, ThreadPoolExecutor workers) {
        this.connections = connections;
        this.workers = workers;
    }

    /** True for the first caller only, who goes on with {@link #run}: every connection is draining from now on. */
    boolean begin() {
        if (!begun.compareAndSet(false, true)) {
            return false;
        }
        startedAt = System.nanoTime();
        for (A6Connection connection : new ArrayList<>(connections)) {
            connection.drain();
        }
        marked = true;
        return true;
    }

    /** Whether every connection open when draining began knows it drains. */
    boolean connectionsDraining() {
        return marked;
    }

    boolean started() {
        return begun.get();
    }

    boolean finished() {
        return done.getCount() == 0;
    }

    /** Waits for the connections to end, for at most {@code grace}; then closes what is left. */
    void run(Duration grace) {
        workers.shutdown();
        long deadline = System.nanoTime() + grace.toNanos();
        while (!connections.isEmpty() && System.nanoTime() < deadline) {
            closeQuiet(System.nanoTime());
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!connections.isEmpty()) {
            LOG.warn("{} connection(s) still busy after {} ms; closing them", connections.size(), grace.toMillis());
            for (A6Connection connection : new ArrayList<>(connections)) {
                connection.closeQuietly();
            }
            workers.shutdownNow();
        }
    }

    /** Closes the draining connections that have been quiet long enough. */
    void closeQuiet(long now) {
        for (A6Connection connection : connections) {
            connection.closeIfQuiet(now, startedAt, QUIET.toNanos());
        }
    }

    void finish() {
        done.countDown();
    }

    void await() throws InterruptedException {
        done.await();
    }

    void awaitQuietly() {
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
