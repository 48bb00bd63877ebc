package io.github.apisixsession.storage.memory;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.MutableClock;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** The whole contract, with a test clock so expiry takes no real time. */
class MemorySessionStorageContractTest extends SessionStorageContract {

    private final MutableClock clock = new MutableClock();
    private MemorySessionStorage storage;

    @BeforeEach
    void create() {
        storage = new MemorySessionStorage(100_000, clock);
    }

    @AfterEach
    void close() {
        storage.close();
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

    /** The clock is exact, so the margins can be too. */
    @Override
    protected Duration expiryMargin() {
        return Duration.ofNanos(1);
    }

    @Override
    protected Duration expiryTolerance() {
        return Duration.ZERO;
    }
}
