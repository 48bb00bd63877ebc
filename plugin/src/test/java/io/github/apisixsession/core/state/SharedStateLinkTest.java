package io.github.apisixsession.core.state;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.TestClock;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The link's view of its feed when the feed's callbacks race with a reload on the maintenance
 * thread. A feed reports a loss once: a reload that ends after the loss must not count the feed
 * as connected again, or a fail-closed route would trust a copy nothing keeps current.
 */
@Timeout(30)
class SharedStateLinkTest {

    private static final long GRACE_SECONDS = SharedStateLink.DISCONNECT_GRACE.toSeconds() + 1;

    /** A store whose snapshot waits until the test lets it finish; watch subscribes at once. */
    private static final class SlowSnapshotStore implements SharedSessionState {
        final CountDownLatch snapshotStarted = new CountDownLatch(1);
        final CountDownLatch finishSnapshot = new CountDownLatch(1);
        volatile Listener listener;

        @Override
        public Snapshot snapshot() throws StorageException {
            snapshotStarted.countDown();
            try {
                finishSnapshot.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StorageException("interrupted", e);
            }
            return new Snapshot(List.of(), List.of());
        }

        @Override
        public AutoCloseable watch(Listener l) {
            listener = l;
            l.resynchronize(); // subscribed
            return () -> { };
        }

        @Override
        public void revoke(String id, Instant until) {
        }

        @Override
        public void revokeIssuedBefore(String audience, String subject, Instant issuedBefore, Instant until) {
        }

        @Override
        public long increment(String counter, Duration ttl) {
            return 1;
        }

        @Override
        public void reset(String counter) {
        }
    }

    private final TestClock clock = new TestClock(1_800_000_000L);

    private SharedStateLink link(SharedSessionState store) {
        return new SharedStateLink("test", () -> Optional.of(store), clock, SessionMetrics.NONE, 1000);
    }

    /** A link whose first reload from {@code store} is done. */
    private SharedStateLink loaded(SlowSnapshotStore store) {
        store.finishSnapshot.countDown();
        SharedStateLink link = link(store);
        link.tick();
        return link;
    }

    @Test
    void aLossDuringTheFirstReloadIsNotForgottenWhenTheReloadEnds() throws Exception {
        SlowSnapshotStore store = new SlowSnapshotStore();
        SharedStateLink link = link(store);
        Thread maintenance = new Thread(link::tick);
        maintenance.start();
        assertTrue(store.snapshotStarted.await(10, TimeUnit.SECONDS));

        store.listener.disconnected(new IOException("the store was killed")); // while the snapshot is read
        store.finishSnapshot.countDown();
        maintenance.join(10_000);

        assertFalse(link.connected(), "the loss came after the reload began");
        clock.advance(GRACE_SECONDS);
        assertFalse(link.trusted(), "past the grace of the lost feed the copy is not trusted");
    }

    @Test
    void aLossAfterTheReloadEndsIsCountedFromThen() throws Exception {
        SlowSnapshotStore store = new SlowSnapshotStore();
        SharedStateLink link = loaded(store);
        assertTrue(link.connected() && link.trusted());

        clock.advance(GRACE_SECONDS); // connected all along: still trusted
        assertTrue(link.trusted());
        store.listener.disconnected(new IOException("lost"));
        assertFalse(link.connected());
        assertTrue(link.trusted(), "a lost feed is believed for the grace");
        clock.advance(GRACE_SECONDS);
        assertFalse(link.trusted());

        store.listener.resynchronize(); // back: the next tick reloads and trusts again
        link.tick();
        assertTrue(link.connected() && link.trusted());
    }

    @Test
    void aRequestWaitingForTheCopyNeverTakesTheMaintenanceLock() throws Exception {
        SlowSnapshotStore store = new SlowSnapshotStore();
        SharedStateLink link = loaded(store);
        store.listener.disconnected(new IOException("lost"));
        clock.advance(GRACE_SECONDS);
        assertFalse(link.trusted());

        // the maintenance thread inside a tick, e.g. flushing queued writes to a store that hangs
        CountDownLatch inTick = new CountDownLatch(1);
        CountDownLatch leaveTick = new CountDownLatch(1);
        Thread maintenance = new Thread(() -> {
            synchronized (link) {
                inTick.countDown();
                try {
                    leaveTick.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        maintenance.start();
        try {
            assertTrue(inTick.await(10, TimeUnit.SECONDS));
            FutureTask<Boolean> request = new FutureTask<>(() -> {
                link.awaitLoaded(Duration.ofSeconds(1));
                return link.trusted();
            });
            new Thread(request).start();
            assertFalse(request.get(10, TimeUnit.SECONDS), "answered (untrusted) without waiting for the lock");
        } finally {
            leaveTick.countDown();
            maintenance.join(10_000);
        }
    }
}
