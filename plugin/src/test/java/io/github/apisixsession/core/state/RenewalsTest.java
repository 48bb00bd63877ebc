package io.github.apisixsession.core.state;

import io.github.apisixsession.core.ParkedThreads;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.persistence.SavedSession;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One renewal per session, shared by concurrent requests; its storage write runs outside the
 * cache's locks, so a write stuck on a slow storage holds only the requests of that session.
 */
class RenewalsTest {

    private final Renewals renewals = new Renewals(Clock.systemUTC(), 100_000);
    private final SessionRoute route;

    RenewalsTest() throws Exception {
        SessionStorages storages = SessionStorages.discover(new StorageContext(Clock.systemUTC(), k -> null));
        SessionEngine engine = new SessionEngine(Clock.systemUTC(), storages);
        route = engine.prepare(new SessionConfigParser(k -> null, storages.names(), "p")
                .parse("{\"secret\":\"renewals-test-secret-0123456789abcdef\"}"));
    }

    private static SavedSession saved() {
        return new SavedSession(null, List.of());
    }

    @Test
    void aStuckWriteHoldsNoOtherSessionsRenewal() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Renewals.Result> stuck = CompletableFuture.supplyAsync(() -> call("stuck", () -> {
            entered.countDown();
            release.await();
            return saved();
        }));
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        // thousands of other sessions: with the write inside the cache's compute, those hashed to
        // the stuck one's bin waited for it
        CompletableFuture<Integer> others = CompletableFuture.supplyAsync(() -> {
            int done = 0;
            for (int i = 0; i < 5000; i++) {
                if (call("other-" + i, RenewalsTest::saved).renewedHere()) {
                    done++;
                }
            }
            return done;
        });
        try {
            assertEquals(5000, others.get(60, TimeUnit.SECONDS), "every other session renewed");
            assertFalse(stuck.isDone(), "while the stuck write still waits");
        } finally {
            release.countDown();
        }
        assertTrue(stuck.get(30, TimeUnit.SECONDS).renewedHere());
    }

    @Test
    void concurrentCallersShareOneRenewalAndItsFailure() throws Exception {
        AtomicInteger saves = new AtomicInteger();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        InterruptibleRenewal failing = () -> {
            saves.incrementAndGet();
            entered.countDown();
            release.await();
            throw new StorageException("storage down");
        };
        CompletableFuture<Renewals.Result> first = CompletableFuture.supplyAsync(() -> call("s", failing));
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        CompletableFuture<Renewals.Result> second = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            try {
                second.complete(call("s", () -> {
                    saves.incrementAndGet();
                    return saved();
                }));
            } catch (RuntimeException e) {
                second.completeExceptionally(e);
            }
        });
        waiter.start();
        ParkedThreads.awaitParked(waiter); // it waits for the first caller's save, not running its own
        release.countDown();
        for (CompletableFuture<Renewals.Result> f : List.of(first, second)) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
            assertEquals("storage down", rootCause(e).getMessage());
        }
        assertEquals(1, saves.get(), "one save for both callers");

        SavedSession ok = saved();
        Renewals.Result retried = renewals.renew(route, "s", 10, () -> ok);
        assertTrue(retried.renewedHere(), "a failure is forgotten: the next request renews");
        Renewals.Result shared = renewals.renew(route, "s", 10, RenewalsTest::saved);
        assertFalse(shared.renewedHere());
        assertSame(ok, shared.saved());
    }

    private static Throwable rootCause(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /** The renewal of {@code id}; an interrupted or failed save surfaces as IllegalStateException. */
    private Renewals.Result call(String id, InterruptibleRenewal renewal) {
        try {
            return renewals.renew(route, id, 10, () -> {
                try {
                    return renewal.save();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StorageException("interrupted", e);
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    interface InterruptibleRenewal {
        SavedSession save() throws StorageException, InterruptedException;
    }
}
