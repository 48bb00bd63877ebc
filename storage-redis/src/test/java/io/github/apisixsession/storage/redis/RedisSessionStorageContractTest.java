package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** The SPI contract, in real time, against the local Redis (Redis 7: PEXPIRE … LT). */
class RedisSessionStorageContractTest extends SessionStorageContract {

    private RedisSessionStorage storage;

    @BeforeEach
    void open() {
        LocalRedis.require();
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
