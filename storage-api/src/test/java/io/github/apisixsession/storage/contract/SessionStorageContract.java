package io.github.apisixsession.storage.contract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorage.Renewal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link SessionStorage} must have (lua-resty-session 4's storage adapters),
 * as an abstract JUnit 5 class. A storage module extends it and implements {@link #storage()}.
 *
 * <p>It is written to run against real servers in real time: every key, audience and subject is
 * prefixed with a random per-test id, so tests may share one server (and run concurrently), and
 * the few tests that wait for expiry use {@link #shortTtl()} (500 ms by default), about 3 s of
 * sleeping for the whole suite. A storage with a controllable clock overrides {@link #elapse} and
 * {@link #now()} to make it instant.
 */
public abstract class SessionStorageContract {

    /** Long enough that it never elapses during a test. */
    protected static final Duration LONG_TTL = Duration.ofHours(1);

    private String prefix;

    /**
     * The storage under test. It is called many times per test and must return the same instance
     * within a test; create it in a {@code @BeforeEach} (it runs after this class's) and close it
     * in an {@code @AfterEach}.
     */
    protected abstract SessionStorage storage();

    /** Lets {@code d} pass for the storage. Real backends sleep; a test clock advances instead. */
    protected void elapse(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis(), (int) (d.toNanos() % 1_000_000));
    }

    /** The storage's idea of now, to check the expiries {@code sessionsOf} reports. */
    protected Instant now() {
        return Instant.now();
    }

    /** Whether the metadata tests run; by default what the storage says. */
    protected boolean metadataSupported() {
        return storage().supportsMetadata();
    }

    /** The TTL of entries a test waits to see expire. Override for a coarser backend (e.g. whole seconds). */
    protected Duration shortTtl() {
        return Duration.ofMillis(500);
    }

    /** Waited beyond {@link #shortTtl()} to absorb the backend's expiry granularity and round trips. */
    protected Duration expiryMargin() {
        return Duration.ofMillis(250);
    }

    /** How far a reported expiry may be from the expected one (backends may store whole seconds). */
    protected Duration expiryTolerance() {
        return Duration.ofSeconds(2);
    }

    @BeforeEach
    void newPrefix() {
        prefix = "contract-" + UUID.randomUUID() + ":";
    }

    /** A key unique to this test run. */
    protected final String key(String name) {
        return prefix + name;
    }

    private String id(String name) {
        return prefix + name;
    }

    private void waitPastShortTtl() throws InterruptedException {
        elapse(shortTtl().plus(expiryMargin()));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private byte[] read(String key) throws Exception {
        Optional<byte[]> v = storage().get(key);
        assertTrue(v.isPresent(), () -> "expected a value under " + key);
        return v.get();
    }

    private void assertAbsent(String key) throws Exception {
        assertEquals(Optional.empty(), storage().get(key).map(String::new), () -> "expected nothing under " + key);
    }

    // ---- basic get / set / delete

    @Test
    void getOfAbsentKeyIsEmpty() throws Exception {
        assertTrue(storage().get(key("never-set")).isEmpty());
    }

    @Test
    void setThenGetReturnsTheBytes() throws Exception {
        storage().set(key("a"), bytes("hello"), LONG_TTL);
        assertArrayEquals(bytes("hello"), read(key("a")));
    }

    @Test
    void arbitraryBinaryValuesRoundTrip() throws Exception {
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        byte[] big = new byte[64 * 1024];
        new Random(42).nextBytes(big);

        storage().set(key("all"), all, LONG_TTL);
        storage().set(key("empty"), new byte[0], LONG_TTL);
        storage().set(key("big"), big, LONG_TTL);

        assertArrayEquals(all, read(key("all")));
        assertArrayEquals(new byte[0], read(key("empty")), "an empty value is a value, not an absent key");
        assertArrayEquals(big, read(key("big")));
    }

    @Test
    void setOverwrites() throws Exception {
        storage().set(key("a"), bytes("first"), LONG_TTL);
        storage().set(key("a"), bytes("second"), LONG_TTL);
        assertArrayEquals(bytes("second"), read(key("a")));
    }

    @Test
    void entryIsReadableBeforeItsTtlAndGoneAfter() throws Exception {
        storage().set(key("short"), bytes("v"), shortTtl());
        storage().set(key("long"), bytes("w"), LONG_TTL);
        storage().set(key("shortened"), bytes("x"), LONG_TTL);
        storage().set(key("shortened"), bytes("y"), shortTtl());
        assertArrayEquals(bytes("v"), read(key("short")));
        assertArrayEquals(bytes("y"), read(key("shortened")));

        waitPastShortTtl();

        assertAbsent(key("short"));
        assertAbsent(key("shortened"));
        assertArrayEquals(bytes("w"), read(key("long")), "only the short entry expires");
    }

    @Test
    void deleteRemovesTheEntry() throws Exception {
        storage().set(key("a"), bytes("v"), LONG_TTL);
        storage().set(key("b"), bytes("w"), LONG_TTL);
        storage().delete(key("a"));
        assertAbsent(key("a"));
        assertArrayEquals(bytes("w"), read(key("b")), "delete touches only its key");
    }

    @Test
    void deleteOfAbsentKeyIsFine() throws Exception {
        assertDoesNotThrow(() -> storage().delete(key("never-set")));
        assertDoesNotThrow(() -> storage().delete(key("never-set"), SessionMetadata.of(id("aud"), id("sub"))));
        assertAbsent(key("never-set"));
    }

    @Test
    void setAfterDeleteWorks() throws Exception {
        storage().set(key("a"), bytes("v"), LONG_TTL);
        storage().delete(key("a"));
        storage().set(key("a"), bytes("again"), LONG_TTL);
        assertArrayEquals(bytes("again"), read(key("a")));
    }

    @Test
    void storedValueIsACopy() throws Exception {
        byte[] given = bytes("original");
        storage().set(key("a"), given, LONG_TTL);
        given[0] = 'X';
        byte[] first = read(key("a"));
        assertArrayEquals(bytes("original"), first, "changing the array passed to set must not change the entry");
        first[0] = 'Y';
        assertArrayEquals(bytes("original"), read(key("a")), "changing the array get returned must not change the entry");
    }

    // ---- renewal

    @Test
    void renewalWritesTheNewEntryAndKeepsTheOldOneForStaleTtl() throws Exception {
        storage().set(key("old"), bytes("v1"), LONG_TTL);
        storage().set(key("new"), bytes("v2"), LONG_TTL, key("old"), shortTtl());

        assertArrayEquals(bytes("v2"), read(key("new")));
        assertArrayEquals(bytes("v1"), read(key("old")), "the old entry stays readable within stale_ttl");

        waitPastShortTtl();

        assertAbsent(key("old"));
        assertArrayEquals(bytes("v2"), read(key("new")), "the new entry keeps its own ttl");
    }

    @Test
    void renewalDoesNotLengthenAnOldEntryThatExpiresSooner() throws Exception {
        storage().set(key("old"), bytes("v1"), shortTtl());
        storage().set(key("new"), bytes("v2"), LONG_TTL, key("old"), LONG_TTL);
        assertArrayEquals(bytes("v1"), read(key("old")));

        waitPastShortTtl();

        assertAbsent(key("old"));
        assertArrayEquals(bytes("v2"), read(key("new")));
    }

    @Test
    void renewalOfAnAbsentOldKeyIsFineAndDoesNotCreateIt() throws Exception {
        storage().set(key("new"), bytes("v2"), LONG_TTL, key("gone"), Duration.ofSeconds(10));
        assertArrayEquals(bytes("v2"), read(key("new")));
        assertAbsent(key("gone"));
    }

    @Test
    void renewalWithMetadataStoresTheNewEntry() throws Exception {
        storage().set(key("old"), bytes("v1"), LONG_TTL);
        storage().set(key("new"), bytes("v2"), LONG_TTL,
                new Renewal(key("old"), Duration.ofSeconds(10)), SessionMetadata.of(id("aud"), id("sub")));
        assertArrayEquals(bytes("v2"), read(key("new")));
        assertArrayEquals(bytes("v1"), read(key("old")));
    }

    // ---- keys

    @Test
    void distinctKeysDoNotCollide() throws Exception {
        List<String> names = List.of("a", "A", "a:", "a:b", "ab", "a b", "b:a", "a/b", "a+b", "a-b", "a_b", "a.b", "é");
        for (String n : names) {
            storage().set(key(n), bytes("value of " + n), LONG_TTL);
        }
        for (String n : names) {
            assertArrayEquals(bytes("value of " + n), read(key(n)), "key " + n);
        }
        storage().delete(key("a"));
        assertAbsent(key("a"));
        assertArrayEquals(bytes("value of a:b"), read(key("a:b")), "deleting a key must not touch a longer one");
        assertArrayEquals(bytes("value of A"), read(key("A")), "keys are case sensitive");
    }

    @Test
    void keysLookLikeTheEngines() throws Exception {
        // <cookie name>:<base64url session id>, the shape the engine sends
        String k = key("session:" + "Ab-_9zZ" + "0123456789abcdefghijklmnopqrstuvwxyz/+==");
        storage().set(k, bytes("v"), LONG_TTL);
        assertArrayEquals(bytes("v"), read(k));
        assertAbsent(key("session:"));
    }

    // ---- concurrency

    @Test
    void concurrentSetsAndGetsOfDistinctKeysAllSucceed() throws Exception {
        int threads = 16;
        int perThread = 100;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                tasks.add(() -> {
                    int ok = 0;
                    for (int i = 0; i < perThread; i++) {
                        String k = key("t" + thread + ":" + i);
                        byte[] v = bytes(thread + "/" + i);
                        storage().set(k, v, LONG_TTL);
                        Optional<byte[]> got = storage().get(k);
                        if (got.isPresent() && java.util.Arrays.equals(v, got.get())) {
                            ok++;
                        }
                    }
                    return ok;
                });
            }
            int total = 0;
            for (Future<Integer> f : pool.invokeAll(tasks)) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(threads * perThread, total, "every write must be readable by its writer");
            for (int t = 0; t < threads; t++) {
                assertArrayEquals(bytes(t + "/" + (perThread - 1)), read(key("t" + t + ":" + (perThread - 1))));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- metadata

    @Test
    void withoutMetadataSupportSessionsOfIsUnsupportedAndMetadataIsIgnored() throws Exception {
        assumeFalse(metadataSupported(), "this storage supports metadata");
        storage().set(key("a"), bytes("v"), LONG_TTL, null, SessionMetadata.of(id("aud"), id("sub")));
        assertArrayEquals(bytes("v"), read(key("a")));
        assertThrows(UnsupportedOperationException.class, () -> storage().sessionsOf(id("aud"), id("sub")));
    }

    @Test
    void sessionsOfListsLiveKeysWithTheirExpiry() throws Exception {
        assumeTrue(metadataSupported(), "this storage keeps no metadata");
        String aud = id("aud");
        String sub = id("sub");
        Instant before = now();
        storage().set(key("s1"), bytes("1"), LONG_TTL, null, SessionMetadata.of(aud, sub));
        storage().set(key("s2"), bytes("2"), Duration.ofMinutes(10), null, SessionMetadata.of(aud, sub));
        storage().set(key("plain"), bytes("3"), LONG_TTL);
        Instant after = now();

        Map<String, Instant> sessions = storage().sessionsOf(aud, sub);

        assertEquals(Set.of(key("s1"), key("s2")), sessions.keySet());
        assertExpiry(sessions.get(key("s1")), before.plus(LONG_TTL), after.plus(LONG_TTL));
        assertExpiry(sessions.get(key("s2")), before.plus(Duration.ofMinutes(10)), after.plus(Duration.ofMinutes(10)));
    }

    @Test
    void sessionsOfIsolatesAudiencesAndSubjects() throws Exception {
        assumeTrue(metadataSupported(), "this storage keeps no metadata");
        String aud1 = id("aud1");
        String aud2 = id("aud2");
        String alice = id("alice");
        String bob = id("bob");
        storage().set(key("a1"), bytes("1"), LONG_TTL, null, SessionMetadata.of(aud1, alice));
        storage().set(key("b1"), bytes("2"), LONG_TTL, null, SessionMetadata.of(aud1, bob));
        storage().set(key("a2"), bytes("3"), LONG_TTL, null, SessionMetadata.of(aud2, alice));
        storage().set(key("both"), bytes("4"), LONG_TTL, null, new SessionMetadata(List.of(
                new SessionMetadata.Entry(aud1, alice), new SessionMetadata.Entry(aud2, bob))));

        assertEquals(Set.of(key("a1"), key("both")), storage().sessionsOf(aud1, alice).keySet());
        assertEquals(Set.of(key("b1")), storage().sessionsOf(aud1, bob).keySet());
        assertEquals(Set.of(key("a2")), storage().sessionsOf(aud2, alice).keySet());
        assertEquals(Set.of(key("both")), storage().sessionsOf(aud2, bob).keySet());
        assertEquals(Map.of(), storage().sessionsOf(aud1, id("nobody")));
        assertEquals(Map.of(), storage().sessionsOf(id("other-aud"), alice));
    }

    @Test
    void sessionsOfExcludesDeletedSessions() throws Exception {
        assumeTrue(metadataSupported(), "this storage keeps no metadata");
        String aud = id("aud");
        String sub = id("sub");
        SessionMetadata meta = SessionMetadata.of(aud, sub);
        storage().set(key("s1"), bytes("1"), LONG_TTL, null, meta);
        storage().set(key("s2"), bytes("2"), LONG_TTL, null, meta);

        storage().delete(key("s1"), meta);

        assertEquals(Set.of(key("s2")), storage().sessionsOf(aud, sub).keySet());
        storage().delete(key("s2"), meta);
        assertEquals(Map.of(), storage().sessionsOf(aud, sub));
    }

    @Test
    void sessionsOfExcludesExpiredSessionsAndFollowsRenewals() throws Exception {
        assumeTrue(metadataSupported(), "this storage keeps no metadata");
        String aud = id("aud");
        String sub = id("sub");
        SessionMetadata meta = SessionMetadata.of(aud, sub);
        long expiringSetAt = System.nanoTime();
        storage().set(key("expiring"), bytes("1"), shortTtl(), null, meta);
        storage().set(key("kept"), bytes("2"), LONG_TTL, null, meta);
        storage().set(key("old"), bytes("3"), LONG_TTL, null, meta);
        Instant renewedAt = now();
        storage().set(key("new"), bytes("4"), LONG_TTL, new Renewal(key("old"), shortTtl()), meta);

        Map<String, Instant> before = storage().sessionsOf(aud, sub);
        assertTrue(before.keySet().containsAll(Set.of(key("kept"), key("new"))), before::toString);
        if (System.nanoTime() - expiringSetAt < shortTtl().toNanos()) {
            // still alive: it must be listed (on a slow machine it may already have expired)
            assertTrue(before.containsKey(key("expiring")), before::toString);
        }
        Instant oldExpiry = before.get(key("old"));
        if (oldExpiry != null) {
            // listing the stale entry is allowed, but not with its former expiry
            assertFalse(oldExpiry.isAfter(renewedAt.plus(shortTtl()).plus(expiryTolerance())),
                    "the old key's expiry must be shortened to stale_ttl, was " + oldExpiry);
        }

        waitPastShortTtl();

        assertEquals(Set.of(key("kept"), key("new")), storage().sessionsOf(aud, sub).keySet());
    }

    private void assertExpiry(Instant actual, Instant earliest, Instant latest) {
        if (actual == null) {
            fail("no expiry reported");
        }
        Duration tolerance = expiryTolerance();
        assertFalse(actual.isBefore(earliest.minus(tolerance)), () -> actual + " is before " + earliest);
        assertFalse(actual.isAfter(latest.plus(tolerance)), () -> actual + " is after " + latest);
    }
}
