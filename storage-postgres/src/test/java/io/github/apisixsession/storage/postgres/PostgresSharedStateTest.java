package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import io.github.apisixsession.storage.contract.RecordingListener;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What the contract does not cover: the cleanup of expired rows, the LISTEN connection's end, the payloads. */
class PostgresSharedStateTest {

    @Test
    @RequiresService(SharedPostgres.class)
    void theCleanupDeletesExpiredRevocationsMarkersAndCounters() throws Exception {
        String database = PostgresTestDatabase.get().createDatabase("shared_cleanup");
        try (PostgresSessionStorage s = PgTest.open(PgTest.settings(database).withCleanup(Duration.ZERO, 2))) {
            SharedSessionState state = s.sharedState().orElseThrow();
            Instant later = Instant.now().plusSeconds(3600);
            state.revoke("live", later);
            state.revokeIssuedBefore("aud", "live", Instant.now(), later);
            state.increment("live", Duration.ofHours(1));
            // rows past their expiry, as writes cannot make them
            PgTest.update(database, "INSERT INTO public.apisix_revocations (id, until)"
                    + " SELECT 'old' || g, now() - interval '1 minute' FROM generate_series(1, 5) g");
            PgTest.update(database, "INSERT INTO public.apisix_subject_markers"
                    + " (audience, whole_audience, subject, issued_before, until)"
                    + " SELECT 'aud', false, 'old' || g, now(), now() - interval '1 minute' FROM generate_series(1, 3) g");
            PgTest.update(database, "INSERT INTO public.apisix_counters (name, value, expires_at)"
                    + " SELECT 'old' || g, 3, now() - interval '1 minute' FROM generate_series(1, 3) g");
            assertEquals(11, s.cleanUpExpired(), "11 rows in batches of 2");
            assertEquals(1, PgTest.count(database, "SELECT count(*) FROM public.apisix_revocations"));
            assertEquals(1, PgTest.count(database, "SELECT count(*) FROM public.apisix_subject_markers"));
            assertEquals(1, PgTest.count(database, "SELECT count(*) FROM public.apisix_counters"));
            assertEquals(2, state.increment("live", Duration.ofHours(1)));
        }
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void closingTheStorageEndsItsListenConnection() throws Exception {
        String database = PostgresTestDatabase.get().createDatabase("shared_close");
        String listening = "SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()";
        PostgresSessionStorage s = PgTest.open(PgTest.settings(database));
        RecordingListener heard = new RecordingListener();
        s.sharedState().orElseThrow().watch(heard);
        heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
        assertEquals(1, PgTest.count(database, listening, PostgresStateFeed.APPLICATION_NAME));
        s.close();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (PgTest.count(database, listening, PostgresStateFeed.APPLICATION_NAME) > 0) {
            assertTrue(System.nanoTime() < deadline, "the LISTEN connection is still open");
            Thread.sleep(100);
        }
    }

    @Test
    void payloadsRoundTripAndTooLongOnesAskForAReload() {
        Instant t = Instant.ofEpochMilli(1_780_000_000_123L);
        for (Object change : new Object[] {new Revocation("a b:c\nd", t), new Revocation("", t),
                new Marker("aud ience", "sub ject", t, t.plusSeconds(1)), new Marker("a", null, t, t),
                new Marker("", "", t, t), new Marker("ü", "*", t, t)}) {
            String payload = change instanceof Revocation r ? StateNotification.of(r) : StateNotification.of((Marker) change);
            assertEquals(change, StateNotification.parse(payload), payload);
        }
        assertEquals(StateNotification.RELOAD, StateNotification.of(new Revocation("€".repeat(3000), t)));
        assertEquals(StateNotification.RELOAD, StateNotification.parse(StateNotification.RELOAD));
        assertNull(StateNotification.parse("s 1 2 x"));
        assertNull(StateNotification.parse("garbage"));
    }
}
