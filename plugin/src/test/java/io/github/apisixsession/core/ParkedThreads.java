package io.github.apisixsession.core;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** For tests that must know a thread is waiting (on a lock, latch or future) before they go on. */
public final class ParkedThreads {

    private ParkedThreads() {
    }

    /** Waits until {@code t} parks; fails after 30 s or if it ends first. */
    public static void awaitParked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < deadline && t.isAlive(), "the thread parks: " + t.getState());
            Thread.sleep(1);
        }
    }
}
