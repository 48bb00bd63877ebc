package io.github.apisixsession.core.state;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageException;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Revocations and markers a shared store refused (down, unreachable), kept in order until it is
 * back. Bounded: past {@code capacity} the oldest goes, reported to {@code onDrop} (it still holds
 * on this runner, whose copy took every write at once).
 */
final class PendingWrites {

    /** One write to the store. */
    interface Write {
        void applyTo(SharedSessionState store) throws StorageException;
    }

    record Revoke(String id, long until) implements Write {
        public void applyTo(SharedSessionState store) throws StorageException {
            store.revoke(id, Instant.ofEpochSecond(until));
        }
    }

    record Mark(String audience, String subject, long issuedBefore, long until) implements Write {
        public void applyTo(SharedSessionState store) throws StorageException {
            store.revokeIssuedBefore(audience, subject, Instant.ofEpochSecond(issuedBefore),
                    Instant.ofEpochSecond(until));
        }
    }

    private final int capacity;
    private final Runnable onDrop;
    private final Deque<Write> queue = new ArrayDeque<>();
    private volatile int size;

    PendingWrites(int capacity, Runnable onDrop) {
        this.capacity = capacity;
        this.onDrop = onDrop;
    }

    synchronized void add(Write w) {
        queue.addLast(w);
        if (queue.size() > capacity) {
            queue.pollFirst();
            onDrop.run();
        }
        size = queue.size();
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    /**
     * Writes the queued entries in order until one fails.
     *
     * @return how many were written
     * @throws StorageException the failure that stopped the flush (the rest stays queued)
     */
    synchronized int flush(SharedSessionState store) throws StorageException {
        int written = 0;
        try {
            Write w;
            while ((w = queue.peekFirst()) != null) {
                w.applyTo(store);
                queue.pollFirst();
                written++;
            }
        } finally {
            size = queue.size();
        }
        return written;
    }
}
