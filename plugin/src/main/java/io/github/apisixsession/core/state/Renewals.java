package io.github.apisixsession.core.state;

import com.github.benmanes.caffeine.cache.Cache;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.codec.SessionCodecException;
import io.github.apisixsession.core.persistence.SavedSession;
import io.github.apisixsession.storage.StorageException;

import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Renewals in flight and just done, so that concurrent requests carrying the same cookie past its
 * renewal point get one new session id, not one each: the first request saves, the others wait
 * for it and send the same cookie. Kept for the route's {@code stale_ttl}, the window in which the
 * old cookie is still expected.
 *
 * <p>The save (a storage write) runs on the first caller's thread outside the cache's locks:
 * only callers renewing the same session wait for it, never renewals of other sessions.
 */
public final class Renewals {

    private final Cache<Key, Pending> done;

    public Renewals(Clock clock, long capacity) {
        this.done = ExpiringCache.build(clock, capacity, p -> p.keepSeconds);
    }

    /** What a renewal does: save the session under a new id. */
    public interface Renewal {
        SavedSession save() throws StorageException, SessionCodecException;
    }

    /**
     * The renewal of session {@code sessionId} on {@code route}: done by {@code renewal} once,
     * shared with every concurrent or later caller for {@code keepSeconds}. A failure is shared by
     * the callers that waited for it and forgotten: the next request tries again.
     *
     * @return the saved session, and whether this call did the work
     */
    public Result renew(SessionRoute route, String sessionId, long keepSeconds, Renewal renewal)
            throws StorageException, SessionCodecException {
        Key key = new Key(route, sessionId);
        Pending mine = new Pending(new CompletableFuture<>(), Math.max(1, keepSeconds));
        Pending first = done.asMap().putIfAbsent(key, mine);
        if (first != null) {
            return new Result(first.await(), false);
        }
        try {
            SavedSession saved = renewal.save();
            mine.saved.complete(saved);
            return new Result(saved, true);
        } catch (StorageException | SessionCodecException | RuntimeException e) {
            done.asMap().remove(key, mine);
            mine.saved.completeExceptionally(e);
            throw e;
        }
    }

    public record Result(SavedSession saved, boolean renewedHere) {
    }

    /** The route object itself (one per conf token) and the old session id. */
    private record Key(SessionRoute route, String sessionId) {
    }

    /** A renewal started by another request: its result once saved, kept for {@code keepSeconds}. */
    private record Pending(CompletableFuture<SavedSession> saved, long keepSeconds) {
        SavedSession await() throws StorageException, SessionCodecException {
            try {
                return saved.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof StorageException s) {
                    throw s;
                }
                if (e.getCause() instanceof SessionCodecException c) {
                    throw c;
                }
                throw e;
            }
        }
    }
}
