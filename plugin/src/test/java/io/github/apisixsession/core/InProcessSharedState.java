package io.github.apisixsession.core;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link SharedSessionState} in this JVM, as several runners would share a store: the engines of
 * a test ("runners") lease it through {@link Provider} (storage name {@code "shared"}). It can be
 * switched off ({@link #down}) like a store going away: every call fails and every feed is told it
 * was lost; switched on, every feed is told to resynchronize.
 */
public final class InProcessSharedState implements SharedSessionState {

    private final Clock clock;
    final Map<String, Instant> revocations = new ConcurrentHashMap<>();
    final Map<String, Marker> markers = new ConcurrentHashMap<>();
    final Map<String, Long> counters = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean down;

    public InProcessSharedState(Clock clock) {
        this.clock = clock;
    }

    /** Takes the store away (true) or brings it back (false). */
    public void down(boolean down) {
        this.down = down;
        for (Listener l : listeners) {
            if (down) {
                l.disconnected(new StorageException("store down"));
            } else {
                l.resynchronize();
            }
        }
    }

    private void check() throws StorageException {
        if (down) {
            throw new StorageException("store down");
        }
    }

    @Override
    public void revoke(String id, Instant until) throws StorageException {
        check();
        revocations.merge(id, until, (a, b) -> a.isAfter(b) ? a : b);
        Revocation r = new Revocation(id, until);
        listeners.forEach(l -> l.revoked(r));
    }

    @Override
    public void revokeIssuedBefore(String audience, String subject, Instant issuedBefore, Instant until)
            throws StorageException {
        check();
        Marker m = new Marker(audience, subject, issuedBefore, until);
        markers.merge(audience + "\u0000" + subject, m, (a, b) -> b.issuedBefore().isAfter(a.issuedBefore()) ? b : a);
        listeners.forEach(l -> l.marked(m));
    }

    @Override
    public long increment(String counter, Duration ttl) throws StorageException {
        check();
        return counters.merge(counter, 1L, Long::sum);
    }

    @Override
    public void reset(String counter) throws StorageException {
        check();
        counters.remove(counter);
    }

    @Override
    public Snapshot snapshot() throws StorageException {
        check();
        Instant now = clock.instant();
        return new Snapshot(revocations.entrySet().stream().filter(e -> e.getValue().isAfter(now))
                .map(e -> new Revocation(e.getKey(), e.getValue())).toList(),
                markers.values().stream().filter(m -> m.until().isAfter(now)).toList());
    }

    @Override
    public AutoCloseable watch(Listener listener) {
        listeners.add(listener);
        if (!down) {
            listener.resynchronize();
        }
        return () -> listeners.remove(listener);
    }

    /** A storage named {@code shared} keeping sessions in a map and offering {@code state}. */
    public static final class Provider implements SessionStorageProvider {
        private final InProcessSharedState state;
        private final Map<String, byte[]> sessions = new ConcurrentHashMap<>();

        public Provider(InProcessSharedState state) {
            this.state = state;
        }

        @Override
        public String name() {
            return "shared";
        }

        @Override
        public void validate(StorageConfig config) {
            config.requireOnly(Set.of("name"));
        }

        @Override
        public SessionStorage create(StorageConfig config, StorageContext context) {
            return new SessionStorage() {
                public Optional<byte[]> get(String key) throws StorageException {
                    state.check();
                    return Optional.ofNullable(sessions.get(key));
                }

                public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
                        throws StorageException {
                    state.check();
                    sessions.put(key, value.clone());
                }

                public void delete(String key, SessionMetadata metadata) throws StorageException {
                    state.check();
                    sessions.remove(key);
                }

                public Optional<SharedSessionState> sharedState() {
                    return Optional.of(state);
                }
            };
        }
    }
}
