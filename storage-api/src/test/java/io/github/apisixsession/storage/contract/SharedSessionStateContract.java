package io.github.apisixsession.storage.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.apisixsession.storage.SharedSessionState;
import io.github.apisixsession.storage.SharedSessionState.Marker;
import io.github.apisixsession.storage.SharedSessionState.Revocation;
import io.github.apisixsession.storage.SharedSessionState.Snapshot;
import io.github.apisixsession.storage.StorageException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link SharedSessionState} must have (issue 13), as an abstract JUnit 5
 * class, run against real servers in real time. A storage module extends it, implements
 * {@link #state()} (this runner's), {@link #otherRunner()} (another runner's: another storage
 * object with connections of its own, on the same store) and {@link #killFeedConnections()}.
 *
 * <p>Every id, audience, subject and counter carries a random per-test part, so tests may share a
 * store; snapshots are only checked for what the test itself wrote. Expiry is waited for with
 * short real TTLs and generous polling deadlines, never with an upper bound on how long anything takes.
 */
public abstract class SharedSessionStateContract {

    /** How long a test waits for something that should happen; only reached when it does not. */
    protected static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final Duration LONG = Duration.ofHours(1);

    private String run;
    private SharedSessionState other;

    /** This runner's state; the same instance within a test. */
    protected abstract SharedSessionState state();

    /**
     * Another runner's state on the same store, with its own connections (another storage
     * object); called at most once per test, and the subclass closes it after the test.
     */
    protected abstract SharedSessionState otherRunner() throws Exception;

    /**
     * Kills, at the server, every connection the change feeds of this test's runners listen on
     * (Redis {@code CLIENT KILL TYPE pubsub}, PostgreSQL {@code pg_terminate_backend}), as a
     * restart or a network failure would.
     */
    protected abstract void killFeedConnections() throws Exception;

    @BeforeEach
    void newRun() {
        run = UUID.randomUUID().toString().substring(0, 8);
        other = null;
    }

    /** The other runner of this test, opened on first use. */
    private SharedSessionState other() throws Exception {
        if (other == null) {
            other = otherRunner();
        }
        return other;
    }

    /** A value unique to this test. */
    protected String unique(String what) {
        return what + "-" + run;
    }

    /** Now, to the millisecond: every store keeps at least that. */
    protected static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    // ---------------------------------------------------------------- revocations

    @Test
    void aRevocationIsInTheSnapshot() throws Exception {
        Instant until = now().plus(LONG);
        state().revoke(unique("sid"), until);
        assertEquals(Optional.of(new Revocation(unique("sid"), until)), revocation(state(), unique("sid")));
        assertEquals(Optional.empty(), revocation(state(), unique("other")));
    }

    @Test
    void anotherRunnerSeesARevocation() throws Exception {
        Instant until = now().plus(LONG);
        state().revoke(unique("sid"), until);
        assertEquals(Optional.of(new Revocation(unique("sid"), until)), revocation(other(), unique("sid")));
    }

    @Test
    void revokingAgainNeverShortensARevocation() throws Exception {
        Instant until = now().plus(LONG);
        state().revoke(unique("sid"), until);
        state().revoke(unique("sid"), until.minusSeconds(600));
        assertEquals(until, revocation(state(), unique("sid")).orElseThrow().until());
        state().revoke(unique("sid"), until.plusSeconds(600));
        assertEquals(until.plusSeconds(600), revocation(state(), unique("sid")).orElseThrow().until());
        assertEquals(1, state().snapshot().revocations().stream().filter(r -> r.id().equals(unique("sid"))).count());
    }

    @Test
    void aRevocationWhoseUntilHasPassedIsNotKept() throws Exception {
        state().revoke(unique("past"), now().minusSeconds(1));
        assertEquals(Optional.empty(), revocation(state(), unique("past")));
    }

    @Test
    void aRevocationExpires() throws Exception {
        state().revoke(unique("short"), now().plusMillis(1500));
        state().revoke(unique("long"), now().plus(LONG));
        assertTrue(revocation(state(), unique("short")).isPresent());
        awaitTrue("the revocation expires", () -> revocation(state(), unique("short")).isEmpty());
        assertTrue(revocation(state(), unique("long")).isPresent());
    }

    @Test
    void aLargeSnapshotHasEveryRevocation() throws Exception {
        Instant until = now().plus(LONG);
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1200; i++) {
            String id = unique("many") + "-" + i;
            ids.add(id);
            // spread over a few expiries, with many sharing one
            state().revoke(id, until.plusMillis(i % 7));
        }
        Set<String> seen = new HashSet<>();
        for (Revocation r : state().snapshot().revocations()) {
            if (r.id().startsWith(unique("many") + "-")) {
                assertTrue(seen.add(r.id()), "listed twice: " + r.id());
            }
        }
        assertEquals(ids, seen);
    }

    // ---------------------------------------------------------------- markers

    @Test
    void aSubjectMarkerIsInTheSnapshot() throws Exception {
        Instant before = now();
        Instant until = before.plus(LONG);
        state().revokeIssuedBefore(unique("aud"), unique("alice"), before, until);
        assertEquals(Optional.of(new Marker(unique("aud"), unique("alice"), before, until)),
                marker(other(), unique("aud"), unique("alice")));
        assertEquals(Optional.empty(), marker(state(), unique("aud"), unique("bob")));
        assertEquals(Optional.empty(), marker(state(), unique("aud"), null));
        assertEquals(Optional.empty(), marker(state(), unique("aud2"), unique("alice")));
    }

    @Test
    void anAudienceMarkerHasNoSubjectAndLivesBesideSubjectMarkers() throws Exception {
        Instant before = now();
        state().revokeIssuedBefore(unique("aud"), null, before, before.plus(LONG));
        state().revokeIssuedBefore(unique("aud"), unique("alice"), before.minusSeconds(5), before.plus(LONG));
        assertEquals(Optional.of(new Marker(unique("aud"), null, before, before.plus(LONG))),
                marker(state(), unique("aud"), null));
        assertEquals(before.minusSeconds(5), marker(state(), unique("aud"), unique("alice")).orElseThrow().issuedBefore());
        // "*" is a subject like any other, not the audience-wide marker
        assertEquals(Optional.empty(), marker(state(), unique("aud"), "*"));
    }

    @Test
    void markersNeverMoveBack() throws Exception {
        Instant before = now();
        Instant until = before.plus(LONG);
        state().revokeIssuedBefore(unique("aud"), unique("alice"), before, until);
        other().revokeIssuedBefore(unique("aud"), unique("alice"), before.minusSeconds(60), until.plus(LONG));
        assertEquals(Optional.of(new Marker(unique("aud"), unique("alice"), before, until)),
                marker(state(), unique("aud"), unique("alice")));
        state().revokeIssuedBefore(unique("aud"), null, before, until);
        state().revokeIssuedBefore(unique("aud"), null, before.minusMillis(1), until);
        assertEquals(before, marker(state(), unique("aud"), null).orElseThrow().issuedBefore());
    }

    @Test
    void aLaterMarkerReplacesAnEarlierOne() throws Exception {
        Instant before = now();
        state().revokeIssuedBefore(unique("aud"), unique("alice"), before, before.plus(LONG));
        Instant later = before.plusSeconds(30);
        other().revokeIssuedBefore(unique("aud"), unique("alice"), later, later.plus(LONG));
        assertEquals(Optional.of(new Marker(unique("aud"), unique("alice"), later, later.plus(LONG))),
                marker(state(), unique("aud"), unique("alice")));
        assertEquals(1, state().snapshot().markers().stream()
                .filter(m -> m.audience().equals(unique("aud")) && unique("alice").equals(m.subject())).count());
    }

    @Test
    void aMarkerExpires() throws Exception {
        Instant before = now();
        state().revokeIssuedBefore(unique("aud"), unique("gone"), before, before.minusSeconds(1));
        assertEquals(Optional.empty(), marker(state(), unique("aud"), unique("gone")));
        state().revokeIssuedBefore(unique("aud"), unique("short"), before, now().plusMillis(1500));
        state().revokeIssuedBefore(unique("aud"), null, before, now().plusMillis(1500));
        assertTrue(marker(state(), unique("aud"), unique("short")).isPresent());
        awaitTrue("the markers expire", () -> marker(state(), unique("aud"), unique("short")).isEmpty()
                && marker(state(), unique("aud"), null).isEmpty());
    }

    @Test
    void anExpiredMarkerIsReplacedEvenByAnEarlierOne() throws Exception {
        Instant before = now();
        state().revokeIssuedBefore(unique("aud"), unique("alice"), before, now().plusMillis(1000));
        awaitTrue("the marker expires", () -> marker(state(), unique("aud"), unique("alice")).isEmpty());
        Instant earlier = before.minusSeconds(10);
        state().revokeIssuedBefore(unique("aud"), unique("alice"), earlier, now().plus(LONG));
        assertEquals(earlier, marker(state(), unique("aud"), unique("alice")).orElseThrow().issuedBefore());
    }

    // ---------------------------------------------------------------- counters

    @Test
    void countersCountFromOneAcrossRunnersAndReset() throws Exception {
        String c = unique("failures");
        assertEquals(1, state().increment(c, LONG));
        assertEquals(2, state().increment(c, LONG));
        assertEquals(3, other().increment(c, LONG));
        assertEquals(1, state().increment(unique("other"), LONG));
        state().reset(c);
        assertEquals(1, other().increment(c, LONG));
        state().reset(unique("never-counted"));
    }

    @Test
    void aCounterExpiresAfterTheTtlItWasCreatedWith() throws Exception {
        String c = unique("failures");
        assertEquals(1, state().increment(c, Duration.ofMillis(1200)));
        assertEquals(2, state().increment(c, Duration.ofMillis(1200)));
        // incrementing does not extend the window: once it is over, counting starts again
        awaitTrue("the counter expires", () -> state().increment(c, Duration.ofMillis(1200)) == 1);
    }

    // ---------------------------------------------------------------- watch

    @Test
    void theFeedResynchronizesFirstThenDeliversEveryRunnersChanges() throws Exception {
        RecordingListener heard = new RecordingListener();
        try (AutoCloseable w = state().watch(heard)) {
            assertNotNull(w);
            heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
            SharedSessionState other = other();
            Instant until = now().plus(LONG);
            other.revoke(unique("sid"), until);
            heard.await("the other runner's revocation",
                    e -> e.equals(new RecordingListener.Revoked(new Revocation(unique("sid"), until))));
            state().revoke(unique("own"), until);
            heard.await("this runner's revocation",
                    e -> e.equals(new RecordingListener.Revoked(new Revocation(unique("own"), until))));
            Instant before = now();
            other.revokeIssuedBefore(unique("aud"), unique("alice"), before, until);
            heard.await("the subject marker", e -> e.equals(new RecordingListener.Marked(
                    new Marker(unique("aud"), unique("alice"), before, until))));
            other.revokeIssuedBefore(unique("aud"), null, before, until);
            heard.await("the audience marker", e -> e.equals(new RecordingListener.Marked(
                    new Marker(unique("aud"), null, before, until))));
        }
    }

    @Test
    void aWatchOnAnotherRunnerHearsThisRunner() throws Exception {
        RecordingListener heard = new RecordingListener();
        try (AutoCloseable w = other().watch(heard)) {
            heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
            Instant until = now().plus(LONG);
            state().revoke(unique("sid"), until);
            heard.await("the revocation", e -> e.equals(new RecordingListener.Revoked(new Revocation(unique("sid"), until))));
        }
    }

    @Test
    void aKilledFeedReportsDisconnectedThenResynchronizesAndHearsAgain() throws Exception {
        RecordingListener heard = new RecordingListener();
        try (AutoCloseable w = state().watch(heard)) {
            heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
            int mark = heard.size();
            killFeedConnections();
            int lost = heard.await("disconnected", mark, e -> e instanceof RecordingListener.Disconnected);
            heard.await("resynchronize after the loss", lost + 1, e -> e instanceof RecordingListener.Resynchronize);
            Instant until = now().plus(LONG);
            other().revoke(unique("after"), until);
            heard.await("a revocation after reconnecting",
                    e -> e.equals(new RecordingListener.Revoked(new Revocation(unique("after"), until))));
        }
    }

    @Test
    void oddValuesRoundTrip() throws Exception {
        String longSubject = "s".repeat(250) + "ü:*%\n" + "x".repeat(245);
        assertEquals(500, longSubject.length());
        List<String> ids = List.of(unique("a:b:c"), unique("ünï€ødé ✓"), unique("*"), unique("%3A%"),
                unique("line\nbreak and space"), unique("x".repeat(600)));
        String audience = unique("aud:with:colons ✓");
        Instant until = now().plus(LONG);
        Instant before = now();
        RecordingListener heard = new RecordingListener();
        try (AutoCloseable w = other().watch(heard)) {
            heard.await("resynchronize", e -> e instanceof RecordingListener.Resynchronize);
            for (String id : ids) {
                state().revoke(id, until);
            }
            state().revokeIssuedBefore(audience, longSubject, before, until);
            state().revokeIssuedBefore(audience, "*", before.minusSeconds(1), until);
            Snapshot seen = other().snapshot();
            for (String id : ids) {
                assertTrue(seen.revocations().contains(new Revocation(id, until)), id);
                heard.await("the revocation of " + id, e -> e.equals(new RecordingListener.Revoked(new Revocation(id, until))));
            }
            Marker m = new Marker(audience, longSubject, before, until);
            assertTrue(seen.markers().contains(m));
            heard.await("the long subject's marker", e -> e.equals(new RecordingListener.Marked(m)));
            assertTrue(seen.markers().contains(new Marker(audience, "*", before.minusSeconds(1), until)));
            assertTrue(seen.markers().stream().noneMatch(x -> x.audience().equals(audience) && x.subject() == null));
            String counter = unique("ctr:ü:*" + "z".repeat(500));
            assertEquals(1, state().increment(counter, LONG));
            assertEquals(2, other().increment(counter, LONG));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Optional<Revocation> revocation(SharedSessionState s, String id) throws StorageException {
        return s.snapshot().revocations().stream().filter(r -> r.id().equals(id)).findFirst();
    }

    private static Optional<Marker> marker(SharedSessionState s, String audience, String subject) throws StorageException {
        return s.snapshot().markers().stream()
                .filter(m -> m.audience().equals(audience) && java.util.Objects.equals(m.subject(), subject))
                .findFirst();
    }

    @FunctionalInterface
    protected interface Condition {
        boolean holds() throws Exception;
    }

    /** Polls {@code c} until it holds, failing after {@link #PATIENCE}. */
    protected static void awaitTrue(String what, Condition c) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!c.holds()) {
            if (System.nanoTime() - deadline > 0) {
                fail("waited " + PATIENCE.toSeconds() + " s in vain: " + what);
            }
            Thread.sleep(100);
        }
    }
}
