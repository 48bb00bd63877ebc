package io.github.apisixsession.core.state;

import com.github.benmanes.caffeine.cache.Cache;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.persistence.SavedSession;
import io.github.apisixsession.storage.StorageException;

import java.time.Clock;

/**
 * Renewals in flight and just done, so that concurrent requests carrying the same cookie past its
 * renewal point get one new session id, not one each: the first request saves, the others wait
 * for it and send the same cookie. Kept for the route's {@code stale_ttl}, the window in which the
 * old cookie is still expected.
 */
public final class Renewals {

    private final Cache<Key, Entry> done;

    public Renewals(Clock clock, long capacity) {
        this.done = ExpiringCache.build(clock, capacity, e -> e.keepSeconds);
    }

    /** What a renewal does: save the session under a new id. */
    public interface Renewal {
        SavedSession save() throws StorageException, SessionCodecException;
    }

    /**
     * The renewal of session {@code sessionId} on {@code route}: done by {@code renewal} once,
     * shared with every concurrent or later caller for {@code keepSeconds}.
     *
     * @return the saved session, and whether this call did the work
     */
    public Result renew(SessionRoute route, String sessionId, long keepSeconds, Renewal renewal)
            throws StorageException, SessionCodecException {
        boolean[] mine = {false};
        try {
            Entry entry = done.get(new Key(route, sessionId), k -> {
                mine[0] = true;
                try {
                    return new Entry(renewal.save(), Math.max(1, keepSeconds));
                } catch (StorageException | SessionCodecException e) {
                    throw new Failed(e);
                }
            });
            return new Result(entry.saved, mine[0]);
        } catch (Failed f) {
            if (f.getCause() instanceof StorageException s) {
                throw s;
            }
            throw (SessionCodecException) f.getCause();
        }
    }

    public record Result(SavedSession saved, boolean renewedHere) {
    }

    /** The route object itself (one per conf token) and the old session id. */
    private record Key(SessionRoute route, String sessionId) {
    }

    private record Entry(SavedSession saved, long keepSeconds) {
    }

    /** Carries a checked failure out of Caffeine's mapping function; nothing is cached then. */
    private static final class Failed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failed(Exception cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }
}
