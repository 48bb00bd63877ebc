package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The SPI contract with the client cache tracking before the first test step, so every second
 * read of a key can be served locally: what the contract asks of reads after writes, deletes,
 * renewals and expiry must hold through the cache too.
 */
@RequiresService(SharedRedis.class)
class RedisCachedContractTest extends SessionStorageContract {

    private RedisSessionStorage storage;

    @BeforeEach
    void open() throws Exception {
        storage = LocalRedis.storage("prefix", LocalRedis.uniquePrefix(), "client_cache_heartbeat", 100);
        CacheProbe.awaitTracking(storage);
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
