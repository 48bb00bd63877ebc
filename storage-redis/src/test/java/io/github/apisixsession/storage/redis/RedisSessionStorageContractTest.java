package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** The SPI contract, in real time, against the local Redis (Redis 7: PEXPIRE … LT). */
@RequiresService(SharedRedis.class)
class RedisSessionStorageContractTest extends SessionStorageContract {

    private RedisSessionStorage storage;

    @BeforeEach
    void open() {
        storage = LocalRedis.storage("prefix", LocalRedis.uniquePrefix());
    }

    @AfterEach
    void close() {
        if (storage != null) {
            storage.close();
        }
    }

    @Override
    protected SessionStorage storage() {
        return storage;
    }
}
