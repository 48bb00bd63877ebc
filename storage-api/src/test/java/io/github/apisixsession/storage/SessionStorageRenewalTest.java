package io.github.apisixsession.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.apisixsession.storage.SessionStorage.Renewal;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SessionStorageRenewalTest {

    @Test
    void holdsTheOldKeyAndStaleTtl() {
        Renewal r = new Renewal("session:old", Duration.ofSeconds(10));
        assertEquals("session:old", r.oldKey());
        assertEquals(Duration.ofSeconds(10), r.staleTtl());
    }

    @Test
    void zeroStaleTtlIsAllowed() {
        assertEquals(Duration.ZERO, new Renewal("k", Duration.ZERO).staleTtl());
    }

    @Test
    void rejectsAMissingOldKey() {
        assertThrows(IllegalArgumentException.class, () -> new Renewal(null, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new Renewal("", Duration.ofSeconds(1)));
    }

    @Test
    void rejectsAMissingOrNegativeStaleTtl() {
        assertThrows(IllegalArgumentException.class, () -> new Renewal("k", null));
        assertThrows(IllegalArgumentException.class, () -> new Renewal("k", Duration.ofNanos(-1)));
    }
}
