package io.github.apisixsession.storage.memory;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract with the system clock and its default sleeping {@code elapse}, as Redis and
 * Postgres run it: proves the real-time margins hold (about 3 s of sleeping).
 */
class MemorySessionStorageRealTimeContractTest extends SessionStorageContract {

    private MemorySessionStorage storage;

    @BeforeEach
    void create() {
        storage = new MemorySessionStorage(100_000, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        storage.close();
    }

    @Override
    protected SessionStorage storage() {
        return storage;
    }
}
