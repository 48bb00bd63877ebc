package io.github.apisixsession.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import io.github.apisixsession.storage.contract.RecordingListener;
import io.github.apisixsession.storage.contract.RecordingListener.Disconnected;
import io.github.apisixsession.storage.contract.RecordingListener.Marked;
import io.github.apisixsession.storage.contract.RecordingListener.Resynchronize;
import io.github.apisixsession.storage.contract.RecordingListener.Revoked;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The rules every store's feed shares, on a scripted store: each {@code listen()} takes the next
 * step, either a failure to connect or a subscription that delivers some changes and then holds
 * until its connection is dropped.
 */
@Timeout(30)
class SharedStateFeedTest {

    private static final Instant UNTIL = Instant.parse("2030-01-01T00:00:00Z");

    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private final RecordingListener heard = new RecordingListener();

    /** A store whose connections follow a script. */
    private final class ScriptedFeed extends SharedStateFeed {
        final BlockingQueue<Object> steps = new LinkedBlockingQueue<>();
        final List<Integer> failuresAtListen = Collections.synchronizedList(new ArrayList<>());
        volatile CountDownLatch connection;
        volatile int subscriptions;

        ScriptedFeed() {
            super("scripted storage", "scripted",
                    new Log(l -> lines.add("WARN " + l), l -> lines.add("INFO " + l), l -> lines.add("DEBUG " + l)),
                    heard);
        }

        @Override
        protected void listen() throws Exception {
            failuresAtListen.add(failures());
            Object step = steps.take();
            if (step instanceof Exception e) {
                throw e;
            }
            CountDownLatch open = new CountDownLatch(1);
            connection = open;
            // dropping the connection counts the latch down
            if (!adopt(open::countDown)) {
                return;
            }
            subscribed("node-" + ++subscriptions);
            for (Object change : (List<?>) step) {
                deliver(change, "message");
            }
            open.await();
            throw new IOException("connection dropped");
        }

        @Override
        protected String describe(Exception e) {
            return e.getMessage();
        }

        void awaitConnection(int subscription) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (subscriptions < subscription) {
                assertTrue(System.nanoTime() < deadline, "subscription " + subscription + " never made");
                Thread.sleep(5);
            }
        }
    }

    private List<String> linesStartingWith(String level) {
        synchronized (lines) {
            return lines.stream().filter(l -> l.startsWith(level)).toList();
        }
    }

    @Test
    void aSubscriptionResynchronizesAndDeliversChangesAndUnreadableOnesReload() throws Exception {
        Revocation r = new Revocation("id-1", UNTIL);
        Marker m = new Marker("aud", "alice", Instant.EPOCH, UNTIL);
        try (ScriptedFeed feed = new ScriptedFeed()) {
            feed.steps.add(List.of(r, m, "reload"));
            feed.steps.add(List.of());
            feed.start();
            heard.await("the marker", e -> e.equals(new Marked(m)));
            feed.awaitConnection(1);
            feed.connection.countDown(); // the store drops the subscription
            feed.awaitConnection(2);
            int i = heard.await("the resubscription", 4, e -> e instanceof Resynchronize);
            assertEquals(List.of(new Resynchronize(), new Revoked(r), new Marked(m), new Resynchronize()),
                    heard.events().subList(0, 4), "resynchronize first, then the changes; a reload asks for one more");
            assertTrue(heard.events().subList(4, i).stream().anyMatch(e -> e instanceof Disconnected));
        }
        assertEquals(List.of(), linesStartingWith("WARN scripted storage: unreadable"), "a reload is not unreadable");
    }

    @Test
    void anUnreadableChangeIsLoggedAndReloads() throws Exception {
        try (ScriptedFeed feed = new ScriptedFeed()) {
            List<Object> garbled = new ArrayList<>();
            garbled.add(null); // what the store could not parse
            feed.steps.add(garbled);
            feed.start();
            heard.await("the second resynchronize", 1, e -> e instanceof Resynchronize);
        }
        assertEquals(List.of("WARN scripted storage: unreadable shared-state message; resynchronizing"),
                linesStartingWith("WARN"));
    }

    @Test
    void aLossIsReportedOnceWhileItLastsAndTheRecoveryOnce() throws Exception {
        try (ScriptedFeed feed = new ScriptedFeed()) {
            feed.steps.add(List.of());
            feed.start();
            feed.awaitConnection(1);
            for (int i = 0; i < 3; i++) {
                feed.steps.add(new IOException("refused " + i));
            }
            feed.steps.add(List.of());
            feed.connection.countDown(); // the store drops the subscription
            feed.awaitConnection(2);
            heard.await("resynchronize after the loss", 2, e -> e instanceof Resynchronize);

            List<RecordingListener.Event> events = heard.events();
            assertEquals(List.of(new Resynchronize(), new Disconnected("java.io.IOException: connection dropped"),
                    new Resynchronize()), events, "one disconnected however many attempts fail");
            assertEquals(List.of(0, 1, 2, 3, 4), feed.failuresAtListen.subList(0, 5),
                    "the attempts are counted for the store (a Cluster tries another node each time)");
            assertEquals(List.of("WARN scripted storage: shared-state feed lost: connection dropped; reconnecting"),
                    linesStartingWith("WARN"));
            assertEquals(List.of("DEBUG scripted storage: shared-state feed still down: refused 0",
                    "DEBUG scripted storage: shared-state feed still down: refused 1",
                    "DEBUG scripted storage: shared-state feed still down: refused 2"), linesStartingWith("DEBUG"));
            assertEquals(List.of("INFO scripted storage: shared-state feed back on node-2"), linesStartingWith("INFO"));

            // a later loss is reported again, and the count of attempts starts over
            feed.steps.add(List.of());
            feed.connection.countDown();
            feed.awaitConnection(3);
            heard.await("the second loss", 3, e -> e instanceof Disconnected);
            assertEquals(1, (int) feed.failuresAtListen.get(5));
            assertEquals(2, linesStartingWith("WARN").size());
        }
    }

    @Test
    void closingStopsTheReaderAndTheListenerHearsNothingMore() throws Exception {
        ScriptedFeed feed = new ScriptedFeed();
        SharedStateFeeds feeds = new SharedStateFeeds("scripted storage");
        feed.steps.add(List.of());
        AutoCloseable handle = feeds.open(() -> feed);
        feed.awaitConnection(1);
        heard.await("resynchronize", e -> e instanceof Resynchronize);
        feeds.close();
        assertTrue(feeds.closed());
        feed.steps.add(List.of(new Revocation("too-late", UNTIL)));
        Thread.sleep(300); // a reader still running would take the step within its 100 ms back-off
        assertEquals(List.of(new Resynchronize()), heard.events(), "no loss is reported for a close");
        assertEquals(1, feed.steps.size(), "no attempt after the close");
        assertEquals(List.of(), lines);
        handle.close(); // closing twice is harmless
        assertThrows(IllegalStateException.class, () -> feeds.open(ScriptedFeed::new), "a closed storage opens no feed");
    }

    @Test
    void closingTheStorageClosesEveryFeedStillOpen() throws Exception {
        SharedStateFeeds feeds = new SharedStateFeeds("scripted storage");
        ScriptedFeed first = new ScriptedFeed();
        first.steps.add(List.of());
        feeds.open(() -> first).close();
        ScriptedFeed second = new ScriptedFeed();
        second.steps.add(List.of());
        feeds.open(() -> second);
        second.awaitConnection(1);
        assertTrue(first.closed());
        assertFalse(second.closed());
        feeds.close();
        assertTrue(second.closed());
        assertEquals(0, second.connection.getCount(), "closing the storage drops the open feed's connection");
    }

    @Test
    void reconnectionBacksOffFrom100MillisecondsToOneSecond() {
        assertEquals(List.of(100L, 100L, 200L, 400L, 800L, 1000L, 1000L, 1000L),
                IntStream.of(0, 1, 2, 3, 4, 5, 6, 100).mapToObj(SharedStateFeed::backoffMillis).toList(),
                "a store that is back is found within a second, like the storages' circuit breaker");
    }
}
