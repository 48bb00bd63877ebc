package io.github.apisixsession.storage.redis;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.contract.SessionStorageContract;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract with renewals shortened by the script that servers before Redis 7 need, and with
 * a suffix, against the local Redis.
 */
@RequiresService(SharedRedis.class)
class RedisSessionStorageScriptContractTest extends SessionStorageContract {

    private RedisSessionStorage storage;

    @BeforeEach
    void open() {
        RedisSettings s = LocalRedis.settings("prefix", LocalRedis.uniquePrefix(), "suffix", "sfx");
        storage = new RedisSessionStorage(s, Clock.systemUTC(), () -> RedisClients.create(s), Boolean.FALSE);
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
