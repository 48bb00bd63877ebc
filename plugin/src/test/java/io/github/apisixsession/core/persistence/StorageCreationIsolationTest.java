package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Creating a storage (a PostgreSQL pool and its migrations, a Redis connection) may take as long
 * as its backend's timeouts. It happens outside any lock that other configs need: a backend that
 * hangs delays only the routes that use it. Callers of the same config wait for the one creation
 * and share its result or its failure.
 */
class StorageCreationIsolationTest {

    /** {@code create} blocks until released, as a pool would on a database that hangs. */
    static final class HangingProvider implements SessionStorageProvider {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger creations = new AtomicInteger();
        volatile boolean fail;

        public String name() {
            return "hanging";
        }

        public void validate(StorageConfig config) {
        }

        public SessionStorage create(StorageConfig config, StorageContext context) throws StorageException {
            creations.incrementAndGet();
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (fail) {
                throw new StorageException("database unreachable");
            }
            return new SessionStorage() {
                public Optional<byte[]> get(String key) {
                    return Optional.empty();
                }

                public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata) {
                }

                public void delete(String key, SessionMetadata metadata) {
                }
            };
        }
    }

    private final HangingProvider hanging = new HangingProvider();
    private final SessionStorages storages = storages(hanging);

    private static SessionStorages storages(SessionStorageProvider extra) {
        List<SessionStorageProvider> providers = new ArrayList<>();
        ServiceLoader.load(SessionStorageProvider.class).forEach(providers::add);
        providers.add(extra);
        return new SessionStorages(providers, new StorageContext(Clock.systemUTC(), Map.<String, String>of()::get));
    }

    @AfterEach
    void close() {
        hanging.release.countDown();
        storages.close();
    }

    private static CompletableFuture<Optional<byte[]>> getAsync(SessionStorage storage) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return storage.get("k");
            } catch (StorageException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aHangingBackendDelaysNoOtherConfig() throws Exception {
        SessionStorages.Lease slow = storages.lease("hanging", StorageConfig.of("hanging", Map.of()));
        assertTrue(hanging.entered.await(30, TimeUnit.SECONDS), "the hanging storage is being created");
        assertNull(slow.awaitStart(Duration.ZERO), "a lease does not wait for its storage");
        CompletableFuture<Optional<byte[]>> waitingCall = getAsync(slow.storage());

        // another provider while the first hangs: leased, started and used
        SessionStorages.Lease memory = storages.lease("memory", StorageConfig.of("memory", Map.of()));
        assertNotNull(memory.awaitStart(Duration.ofSeconds(30)), "the memory storage started");
        memory.storage().set("k", new byte[] {1}, Duration.ofMinutes(1));
        assertTrue(memory.storage().get("k").isPresent());
        assertFalse(waitingCall.isDone(), "a call on the hanging storage waits for it meanwhile");

        hanging.release.countDown();
        assertTrue(waitingCall.get(30, TimeUnit.SECONDS).isEmpty(), "and goes on once it started");
    }

    @Test
    void prepareDoesNotWaitForAStorageThatHangs() throws Exception {
        SessionEngine engine = new SessionEngine(Clock.systemUTC(), storages);
        SessionConfigParser parser = new SessionConfigParser(k -> null, storages.names(), "p");
        CompletableFuture<SessionRoute> prepared = CompletableFuture.supplyAsync(() -> {
            try {
                return engine.prepare(parser.parse("{\"secret\":\"isolation-test-secret-0123456789abcdef\","
                        + "\"storage\":\"hanging\",\"hanging\":{}}"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // APISIX holds one lock over every PrepareConf: this one must not wait for the database
        assertNotNull(prepared.get(30, TimeUnit.SECONDS), "prepared while the storage still hangs");
        assertEquals(1, hanging.release.getCount(), "the storage was never released meanwhile");
    }

    @Test
    void callersOfOneConfigShareOneCreation() throws Exception {
        StorageConfig config = StorageConfig.of("hanging", Map.of());
        List<SessionStorages.Lease> leases = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            leases.add(storages.lease("hanging", config));
        }
        assertTrue(hanging.entered.await(30, TimeUnit.SECONDS));
        hanging.release.countDown();
        SessionStorage first = leases.get(0).awaitStart(Duration.ofSeconds(30));
        for (SessionStorages.Lease l : leases) {
            assertSame(first, l.awaitStart(Duration.ofSeconds(30)));
            assertSame(leases.get(0).storage(), l.storage());
        }
        assertEquals(1, hanging.creations.get(), "one creation for every caller");
    }

    @Test
    void aFailedCreationFailsFastThenStartsAgain() throws Exception {
        hanging.fail = true;
        hanging.release.countDown();
        SessionStorages.Lease lease = storages.lease("hanging", StorageConfig.of("hanging", Map.of()));
        // a request waits for the attempt in progress and gets its failure
        StorageException e = assertThrows(StorageException.class, () -> lease.storage().get("k"));
        assertEquals("database unreachable", e.getMessage());
        // further requests fail fast with that reason; a new attempt at most once per RETRY_AFTER
        long start = System.nanoTime();
        for (int i = 0; i < 200; i++) {
            assertEquals("database unreachable",
                    assertThrows(StorageException.class, () -> lease.storage().get("k")).getMessage());
        }
        long periods = (System.nanoTime() - start) / StorageEntry.RETRY_AFTER.toNanos() + 1;
        assertTrue(hanging.creations.get() <= 1 + periods,
                hanging.creations.get() + " attempts in " + periods + " retry period(s)");

        hanging.fail = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Optional<byte[]> value = null;
        while (value == null) {
            assertTrue(System.nanoTime() < deadline, "the storage starts again once the backend is back");
            try {
                value = lease.storage().get("k");
            } catch (StorageException retryLater) {
                Thread.sleep(50);
            }
        }
        assertTrue(value.isEmpty());
        assertNotNull(lease.awaitStart(Duration.ZERO), "started");
    }
}
