package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.config.SessionConfigParser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lifetime of shared storages: one per distinct config while routes hold it, closed once no
 * route has held it for the idle time (a Redis storage here: it connects lazily, and a closed one
 * says so), never for a storage that keeps its sessions in process (memory).
 */
class SessionStoragesTest {
    private static final Duration IDLE = Duration.ofMillis(300);
    private static final String SECRET = "storages-test-secret-0123456789abcdef";

    private final SessionStorages storages = SessionStorages.discover(
            new StorageContext(Clock.systemUTC(), Map.<String, String>of()::get), IDLE);

    @AfterEach
    void close() {
        storages.close();
    }

    private static StorageConfig redis(String prefix) {
        return StorageConfig.of("redis", Map.of("host", "127.0.0.1", "port", 6379, "prefix", prefix));
    }

    private static boolean closed(SessionStorage storage) {
        try {
            storage.get("probe");
            return false;
        } catch (StorageException e) {
            return e.getMessage().contains("closed");
        }
    }

    /** Waits up to 15 s, asking the collector to run: leases end when their routes are collected. */
    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            System.gc();
            Thread.sleep(50);
        }
    }

    @Test
    void oneStoragePerConfigClosedAfterTheLastLeaseAndTheIdleTime() throws Exception {
        SessionStorages.Lease a = storages.lease("redis", redis("one"));
        SessionStorages.Lease b = storages.lease("redis", redis("one"));
        SessionStorages.Lease other = storages.lease("redis", redis("two"));
        assertSame(a.storage(), b.storage(), "the same config shares one storage");
        assertNotSame(a.storage(), other.storage());
        assertEquals(2, storages.openCount());

        a.release();
        a.release(); // a second release does not count twice
        Thread.sleep(IDLE.toMillis() * 3);
        assertEquals(2, storages.openCount(), "b still holds it");
        assertTrue(!closed(b.storage()));

        b.release();
        other.release();
        await("both are closed", () -> storages.openCount() == 0);
        assertTrue(closed(b.storage()) && closed(other.storage()));

        SessionStorages.Lease again = storages.lease("redis", redis("one"));
        assertNotSame(b.storage(), again.storage(), "the next route opens it again");
        assertTrue(!closed(again.storage()));
        again.release();
    }

    @Test
    void aLeaseTakenBeforeTheSweepKeepsTheStorage() throws Exception {
        SessionStorages.Lease a = storages.lease("redis", redis("kept"));
        a.release();
        SessionStorages.Lease b = storages.lease("redis", redis("kept"));
        Thread.sleep(IDLE.toMillis() * 3);
        assertEquals(1, storages.openCount());
        assertSame(a.storage(), b.storage());
        assertTrue(!closed(b.storage()));
        b.release();
    }

    @Test
    void theMemoryStorageIsNeverClosedForIdleness() throws Exception {
        SessionStorages.Lease memory = storages.lease("memory", StorageConfig.of("memory", Map.of()));
        memory.storage().set("k", new byte[] {1}, Duration.ofHours(1));
        memory.release();
        Thread.sleep(IDLE.toMillis() * 3);
        assertEquals(1, storages.openCount(), "closing it would log everyone out");
        SessionStorages.Lease again = storages.lease("memory", StorageConfig.of("memory", Map.of()));
        assertSame(memory.storage(), again.storage());
        assertTrue(again.storage().get("k").isPresent(), "its sessions are still there");
    }

    @Test
    void routesReleaseTheirStorageWhenNothingRefersToThemAnyMore() throws Exception {
        SessionEngine engine = new SessionEngine(Clock.systemUTC(), storages, SessionMetrics.NONE);
        SessionConfigParser parser = new SessionConfigParser(Map.<String, String>of()::get, storages.names(), "p");
        List<SessionRoute> held = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            SessionRoute route = engine.prepare(parser.parse("{\"secret\":\"" + SECRET + "\",\"storage\":\"redis\","
                    + "\"redis\":{\"prefix\":\"route-" + i + "\"}}"));
            if (i < 3) {
                held.add(route); // routes still in a conf cache
            }
        }
        assertTrue(storages.openCount() >= 3, "a collection may already have closed some");
        await("only the held routes' storages are open", () -> storages.openCount() == 3);
        assertEquals(3, held.size());

        held.clear();
        await("all are closed", () -> storages.openCount() == 0);
    }
}
