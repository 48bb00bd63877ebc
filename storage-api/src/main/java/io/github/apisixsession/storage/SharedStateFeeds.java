package io.github.apisixsession.storage;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The feeds one {@link SharedSessionState} has open, so that closing the storage stops them all:
 * {@link #open} backs {@link SharedSessionState#watch}, {@link #close} the storage's close.
 */
public final class SharedStateFeeds implements AutoCloseable {

    private final String storage;
    private final Set<SharedStateFeed> feeds = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** @param storage the store as errors name it, e.g. {@code redis storage} */
    public SharedStateFeeds(String storage) {
        this.storage = storage;
    }

    /** Makes a feed, starts it and keeps it until it or this is closed. */
    public AutoCloseable open(Supplier<? extends SharedStateFeed> make) {
        if (closed) {
            throw new IllegalStateException(storage + " is closed");
        }
        SharedStateFeed feed = make.get();
        feed.onClose(feeds::remove);
        feeds.add(feed);
        if (closed) {
            // closed meanwhile: it must not outlive the storage
            feed.close();
            throw new IllegalStateException(storage + " is closed");
        }
        feed.start();
        return feed;
    }

    /** Whether {@link #close} was called. */
    public boolean closed() {
        return closed;
    }

    /** Stops every feed. */
    @Override
    public void close() {
        closed = true;
        for (SharedStateFeed f : List.copyOf(feeds)) {
            f.close();
        }
    }
}
