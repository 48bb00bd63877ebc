package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.storage.contract.RecordingListener;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shared state while its Redis (a {@code redis-server} of the test's own) is stopped and
 * restarted: writes fail with a {@link StorageException}, the feed reports the loss once, and
 * after the restart it resynchronizes and hears changes again without anything being reopened.
 */
@RequiresService(RedisBinaries.class)
@Timeout(120)
class RedisSharedStateOutageTest {

    private RedisProcess redis;
    private RedisSessionStorage first;
    private RedisSessionStorage second;

    @AfterEach
    void stop() {
        for (RedisSessionStorage s : new RedisSessionStorage[] {first, second}) {
            if (s != null) {
                s.close();
            }
        }
        if (redis != null) {
            redis.close();
        }
    }

    private RedisSessionStorage storage() {
        return new RedisSessionStorage(LocalRedis.settings("port", redis.port(), "connect_timeout", 1000,
                "read_timeout", 1000, "prefix", "outage"), Clock.systemUTC());
    }

    @Test
    void aRestartedRedisIsFollowedWithoutLosingWhatItKept() throws Exception {
        redis = RedisProcess.launch("--appendonly", "yes", "--appendfsync", "always");
        first = storage();
        second = storage();
        SharedSessionState state = first.sharedState().orElseThrow();
        SharedSessionState other = second.sharedState().orElseThrow();
        Instant until = Instant.now().truncatedTo(ChronoUnit.MILLIS).plusSeconds(3600);
        RecordingListener heard = new RecordingListener();
        try (AutoCloseable w = state.watch(heard)) {
            heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
            other.revoke("before", until);
            heard.await("the first revocation", e -> e.equals(new RecordingListener.Revoked(new Revocation("before", until))));

            int mark = heard.size();
            redis.stop();
            int lost = heard.await("disconnected", mark, e -> e instanceof RecordingListener.Disconnected);
            assertThrows(StorageException.class, () -> other.revoke("while-down", until));
            assertThrows(StorageException.class, state::snapshot);

            redis.start(); // same port and dir: the append-only file brings the state back
            int back = heard.await("resynchronize after the restart", lost + 1,
                    e -> e instanceof RecordingListener.Resynchronize);
            assertEquals(1, heard.events().subList(mark, back).stream()
                    .filter(e -> e instanceof RecordingListener.Disconnected).count(), "the loss is reported once");
            assertTrue(state.snapshot().revocations().contains(new Revocation("before", until)), "nothing lost");
            other.revoke("after", until);
            heard.await("a revocation after the restart",
                    e -> e.equals(new RecordingListener.Revoked(new Revocation("after", until))));
        }
    }

    @Test
    void closingTheStorageEndsItsSubscriber() throws Exception {
        redis = RedisProcess.launch();
        first = storage();
        RecordingListener heard = new RecordingListener();
        first.sharedState().orElseThrow().watch(heard);
        heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
        assertTrue(redis.cli("CLIENT", "LIST", "TYPE", "pubsub").contains("name=" + RedisClients.STATE_CLIENT_NAME));
        first.close();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (redis.cli("CLIENT", "LIST", "TYPE", "pubsub").contains("name=" + RedisClients.STATE_CLIENT_NAME)) {
            assertTrue(System.nanoTime() < deadline, "the subscriber is still connected");
            RedisProcess.sleep(100);
        }
    }
}
