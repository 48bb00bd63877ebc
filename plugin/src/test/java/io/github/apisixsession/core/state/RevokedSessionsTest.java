package io.github.apisixsession.core.state;

import io.github.apisixsession.core.TestClock;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-runner revocation list: bounded, and past its bound the revocation that expires soonest
 * goes first. How often an entry is read never protects it, so a client looping over its own
 * cookies cannot choose which revocations survive; every eviction is counted.
 */
class RevokedSessionsTest {

    private final TestClock clock = new TestClock(1_700_000_000L);
    private final AtomicInteger evicted = new AtomicInteger();

    @Test
    void pastItsCapacityTheSoonestToExpireGoesFirst() {
        RevokedSessions revoked = new RevokedSessions(clock, 3, evicted::incrementAndGet);
        revoked.revoke("a", 100);
        revoked.revoke("b", 10);
        revoked.revoke("c", 50);
        for (int i = 0; i < 1000; i++) {
            assertTrue(revoked.isRevoked("b")); // read often: no protection
        }
        assertEquals(0, evicted.get(), "nothing is dropped within the capacity");

        revoked.revoke("d", 200);
        assertFalse(revoked.isRevoked("b"), "b expires soonest");
        assertTrue(revoked.isRevoked("a") && revoked.isRevoked("c") && revoked.isRevoked("d"));
        assertEquals(1, evicted.get());
        assertEquals(3, revoked.size());
    }

    @Test
    void aVictimsRevocationOutlivesAnAttackersLoopWithinTheCapacity() {
        RevokedSessions revoked = new RevokedSessions(clock, 1000, evicted::incrementAndGet);
        revoked.revoke("victim", 3600);
        for (int i = 0; i < 999; i++) {
            revoked.revoke("attacker-" + i, 3600);
            revoked.isRevoked("attacker-" + i);
            clock.advance(1);
        }
        assertTrue(revoked.isRevoked("victim"));
        assertEquals(0, evicted.get());
    }

    @Test
    void expiredRevocationsLeaveRoomAndNeverCountAsEvicted() {
        RevokedSessions revoked = new RevokedSessions(clock, 2, evicted::incrementAndGet);
        revoked.revoke("a", 10);
        revoked.revoke("b", 10);
        clock.advance(11);
        assertFalse(revoked.isRevoked("a"), "past its time");
        revoked.revoke("c", 10);
        revoked.revoke("d", 10);
        assertTrue(revoked.isRevoked("c") && revoked.isRevoked("d"));
        assertEquals(0, evicted.get(), "a and b expired; they were not evicted");
    }

    @Test
    void aSecondRevocationNeverShortensTheFirst() {
        RevokedSessions revoked = new RevokedSessions(clock, 10, evicted::incrementAndGet);
        revoked.revoke("family:x", 3600);
        revoked.revoke("family:x", 5);
        clock.advance(60);
        assertTrue(revoked.isRevoked("family:x"));
    }
}
