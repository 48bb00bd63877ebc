package io.github.apisixsession.storage.contract;

import static org.junit.jupiter.api.Assertions.fail;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** A {@link SharedSessionState.Listener} that keeps every event, in order, for tests to wait on. */
public final class RecordingListener implements SharedSessionState.Listener {

    /** One call the feed made. */
    public sealed interface Event permits Revoked, Marked, Resynchronize, Disconnected {
    }

    public record Revoked(Revocation revocation) implements Event {
    }

    public record Marked(Marker marker) implements Event {
    }

    public record Resynchronize() implements Event {
    }

    public record Disconnected(String cause) implements Event {
    }

    private final List<Event> events = new ArrayList<>();

    @Override
    public void revoked(Revocation revocation) {
        add(new Revoked(revocation));
    }

    @Override
    public void marked(Marker marker) {
        add(new Marked(marker));
    }

    @Override
    public void resynchronize() {
        add(new Resynchronize());
    }

    @Override
    public void disconnected(Throwable cause) {
        add(new Disconnected(String.valueOf(cause)));
    }

    private synchronized void add(Event e) {
        events.add(e);
        notifyAll();
    }

    public synchronized int size() {
        return events.size();
    }

    public synchronized List<Event> events() {
        return List.copyOf(events);
    }

    /** Waits for an event matching {@code p}; the index of the first one. */
    public int await(String what, Predicate<Event> p) throws InterruptedException {
        return await(what, 0, p);
    }

    /** Waits for an event matching {@code p} at index {@code from} or later; its index. */
    public synchronized int await(String what, int from, Predicate<Event> p) throws InterruptedException {
        long deadline = System.nanoTime() + SharedSessionStateContract.PATIENCE.toNanos();
        while (true) {
            for (int i = from; i < events.size(); i++) {
                if (p.test(events.get(i))) {
                    return i;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                fail("waited " + SharedSessionStateContract.PATIENCE.toSeconds() + " s in vain for " + what
                        + "; heard " + events);
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }
}
