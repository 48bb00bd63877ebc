package io.github.apisixsession.storage.contract;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract against the simplest storage that can pass it, one without metadata: checks the
 * suite itself (including its metadata-less path) independently of any real storage module.
 */
class MapSessionStorageContractTest extends SessionStorageContract {

    private final MutableClock clock = new MutableClock();
    private MapStorage storage;

    @BeforeEach
    void create() {
        storage = new MapStorage(clock);
    }

    @Override
    protected SessionStorage storage() {
        return storage;
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }

    @Override
    protected Instant now() {
        return clock.instant();
    }

    private static final class MapStorage implements SessionStorage {
        private record Entry(byte[] value, Instant expiresAt) {
        }

        private final ConcurrentHashMap<String, Entry> map = new ConcurrentHashMap<>();
        private final MutableClock clock;

        MapStorage(MutableClock clock) {
            this.clock = clock;
        }

        @Override
        public Optional<byte[]> get(String key) {
            Entry e = map.get(key);
            return e == null || !e.expiresAt.isAfter(clock.instant()) ? Optional.empty() : Optional.of(e.value.clone());
        }

        @Override
        public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata) {
            Instant now = clock.instant();
            map.put(key, new Entry(value.clone(), now.plus(ttl)));
            if (renewal != null) {
                Instant staleAt = now.plus(renewal.staleTtl());
                map.computeIfPresent(renewal.oldKey(),
                        (k, e) -> e.expiresAt.isAfter(staleAt) ? new Entry(e.value, staleAt) : e);
            }
        }

        @Override
        public void delete(String key, SessionMetadata metadata) {
            map.remove(key);
        }
    }
}
