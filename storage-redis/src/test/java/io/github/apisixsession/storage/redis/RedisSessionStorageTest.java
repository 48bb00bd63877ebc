package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage.Renewal;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.resps.Tuple;

/** What the storage writes into Redis: keys, TTLs, stale shortening, metadata sets. */
@RequiresService(SharedRedis.class)
class RedisSessionStorageTest {

    private String prefix;
    private RedisSessionStorage storage;
    private JedisPooled raw;

    @BeforeEach
    void open() {
        prefix = LocalRedis.uniquePrefix();
        storage = LocalRedis.storage("prefix", prefix);
        raw = LocalRedis.raw();
    }

    @AfterEach
    void close() {
        if (storage != null) {
            storage.close();
        }
        if (raw != null) {
            for (String k : raw.keys(prefix + ":*")) {
                raw.del(k);
            }
            raw.close();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void keyLayoutIsLuaRestySessions() throws Exception {
        // the engine's key is <cookie name>:<session id>; lua-resty-session's Redis key is [prefix:]name:key
        storage.set("session:AbC-_9", bytes("[\"payload\"]"), Duration.ofMinutes(5));
        assertEquals("[\"payload\"]", raw.get(prefix + ":session:AbC-_9"));
        assertEquals(prefix + ":session:AbC-_9", storage.redisKey("session:AbC-_9"));

        RedisSessionStorage noPrefix = LocalRedis.storage();
        RedisSessionStorage withSuffix = LocalRedis.storage("prefix", prefix, "suffix", "s");
        try {
            assertEquals("session:x", noPrefix.redisKey("session:x"));
            assertEquals(prefix + ":session:x:s", withSuffix.redisKey("session:x"));
            withSuffix.set("session:x", bytes("v"), Duration.ofMinutes(1));
            assertEquals("v", raw.get(prefix + ":session:x:s"));
        } finally {
            noPrefix.close();
            withSuffix.close();
        }
    }

    @Test
    void valueWrittenByLuaRestySessionIsRead() throws Exception {
        // Kong and this runner can share a Redis: same key, same ["<ciphertext>"] value
        raw.setex(prefix + ":session:kongSid", 60, "[\"b64ciphertext\"]");
        assertArrayEquals(bytes("[\"b64ciphertext\"]"), storage.get("session:kongSid").orElseThrow());
    }

    @Test
    void ttlIsReallySetInOneCommand() throws Exception {
        storage.set("session:a", bytes("v"), Duration.ofSeconds(300));
        long pttl = raw.pttl(prefix + ":session:a");
        assertTrue(pttl > 299_000 && pttl <= 300_000, "PTTL " + pttl);
    }

    @Test
    void renewalShortensTheOldKeyToStaleTtl() throws Exception {
        storage.set("session:old", bytes("v1"), Duration.ofHours(1));
        storage.set("session:new", bytes("v2"), Duration.ofHours(1), "session:old", Duration.ofSeconds(10));
        long old = raw.pttl(prefix + ":session:old");
        assertTrue(old > 9_000 && old <= 10_000, "old key shortened to stale_ttl, PTTL " + old);
        long renewed = raw.pttl(prefix + ":session:new");
        assertTrue(renewed > 3_599_000, "new key has its own TTL, PTTL " + renewed);
    }

    @Test
    void renewalNeverLengthensTheOldKey() throws Exception {
        storage.set("session:old", bytes("v1"), Duration.ofSeconds(5));
        storage.set("session:new", bytes("v2"), Duration.ofHours(1), "session:old", Duration.ofSeconds(60));
        long old = raw.pttl(prefix + ":session:old");
        assertTrue(old > 0 && old <= 5_000, "PTTL " + old);
    }

    @Test
    void scriptShorteningBehavesLikePexpireLt() throws Exception {
        RedisSettings s = LocalRedis.settings("prefix", prefix);
        try (RedisSessionStorage script = new RedisSessionStorage(s, Clock.systemUTC(), () -> RedisClients.create(s),
                Boolean.FALSE)) {
            script.set("session:o1", bytes("v"), Duration.ofHours(1));
            script.set("session:n1", bytes("v"), Duration.ofHours(1), "session:o1", Duration.ofSeconds(10));
            script.set("session:o2", bytes("v"), Duration.ofSeconds(5));
            script.set("session:n2", bytes("v"), Duration.ofHours(1), "session:o2", Duration.ofSeconds(60));
            raw.set(prefix + ":session:o3", "no ttl");
            script.set("session:n3", bytes("v"), Duration.ofHours(1), "session:o3", Duration.ofSeconds(10));
            long o1 = raw.pttl(prefix + ":session:o1");
            long o2 = raw.pttl(prefix + ":session:o2");
            long o3 = raw.pttl(prefix + ":session:o3");
            assertTrue(o1 > 9_000 && o1 <= 10_000, "shortened, PTTL " + o1);
            assertTrue(o2 > 0 && o2 <= 5_000, "not lengthened, PTTL " + o2);
            assertTrue(o3 > 9_000 && o3 <= 10_000, "a key without TTL gets stale_ttl, PTTL " + o3);
            script.set("session:n4", bytes("v"), Duration.ofHours(1), "session:absent", Duration.ofSeconds(10));
            assertFalse(raw.exists(prefix + ":session:absent"), "the script creates nothing");
        }
    }

    @Test
    void staleTtlZeroDeletesTheOldKey() throws Exception {
        storage.set("session:old", bytes("v1"), Duration.ofHours(1));
        storage.set("session:new", bytes("v2"), Duration.ofHours(1), "session:old", Duration.ZERO);
        assertFalse(raw.exists(prefix + ":session:old"));
    }

    @Test
    void deleteUnlinksTheKey() throws Exception {
        storage.set("session:a", bytes("v"), Duration.ofHours(1));
        storage.delete("session:a");
        assertFalse(raw.exists(prefix + ":session:a"));
    }

    @Test
    void metadataIsASortedSetScoredByExpiryThatLivesAsLongAsItsLongestSession() throws Exception {
        SessionMetadata meta = SessionMetadata.of("default", "alice");
        String mk = prefix + ":@meta:default:alice";
        assertEquals(mk, storage.metadataKey("default", "alice"));

        long before = System.currentTimeMillis();
        storage.set("session:s1", bytes("1"), Duration.ofHours(1), null, meta);
        storage.set("session:s2", bytes("2"), Duration.ofMinutes(10), null, meta);
        long after = System.currentTimeMillis();

        List<Tuple> members = raw.zrangeWithScores(mk, 0, -1);
        assertEquals(List.of("session:s2", "session:s1"), members.stream().map(Tuple::getElement).toList());
        double s1 = members.get(1).getScore();
        assertTrue(s1 >= before + 3_600_000 && s1 <= after + 3_600_000, "score is the expiry in ms: " + s1);
        long setTtl = raw.pttl(mk);
        assertTrue(setTtl > 3_590_000 && setTtl <= 3_600_000,
                "a shorter session added later does not shorten the set (lua-resty-session would): " + setTtl);
    }

    @Test
    void metadataIsTrimmedOfExpiredMembersOnWrite() throws Exception {
        SessionMetadata meta = SessionMetadata.of("default", "bob");
        String mk = storage.metadataKey("default", "bob");
        raw.zadd(mk, System.currentTimeMillis() - 1000, "session:expired");
        storage.set("session:live", bytes("1"), Duration.ofHours(1), null, meta);
        assertEquals(List.of("session:live"), raw.zrange(mk, 0, -1));
    }

    @Test
    void renewalWithMetadataShortensTheOldMembersScore() throws Exception {
        SessionMetadata meta = SessionMetadata.of("default", "carol");
        String mk = storage.metadataKey("default", "carol");
        storage.set("session:old", bytes("1"), Duration.ofHours(1), null, meta);
        long now = System.currentTimeMillis();
        storage.set("session:new", bytes("2"), Duration.ofHours(1), new Renewal("session:old", Duration.ofSeconds(10)), meta);
        double oldScore = raw.zscore(mk, "session:old");
        assertTrue(oldScore <= now + 11_000, "old member scored by its stale expiry: " + oldScore);
        Map<String, Instant> sessions = storage.sessionsOf("default", "carol");
        assertEquals(Set.of("session:old", "session:new"), sessions.keySet(),
                "the stale session is still listed, so revoking all sessions catches it");
        assertTrue(sessions.get("session:old").isBefore(Instant.now().plusSeconds(11)));
    }

    @Test
    void sessionsOfForgetsSessionsDeletedWithoutMetadata() throws Exception {
        SessionMetadata meta = SessionMetadata.of("default", "dave");
        storage.set("session:a", bytes("1"), Duration.ofHours(1), null, meta);
        storage.set("session:b", bytes("2"), Duration.ofHours(1), null, meta);
        storage.delete("session:a"); // the engine deletes without metadata at logout
        assertEquals(Set.of("session:b"), storage.sessionsOf("default", "dave").keySet());
        assertNull(raw.zscore(storage.metadataKey("default", "dave"), "session:a"), "the stale member is removed");
    }

    @Test
    void revokingAllSessionsOfASubject() throws Exception {
        SessionMetadata meta = SessionMetadata.of("default", "erin");
        for (int i = 0; i < 5; i++) {
            storage.set("session:" + i, bytes("v"), Duration.ofHours(1), null, meta);
        }
        Map<String, Instant> all = storage.sessionsOf("default", "erin");
        assertEquals(5, all.size());
        for (String k : all.keySet()) {
            storage.delete(k, meta);
        }
        assertEquals(Map.of(), storage.sessionsOf("default", "erin"));
        for (int i = 0; i < 5; i++) {
            assertTrue(storage.get("session:" + i).isEmpty());
        }
        assertEquals(0, raw.zcard(storage.metadataKey("default", "erin")));
    }

    @Test
    void metadataKeysOfAudiencesAndSubjectsWithColonsDoNotCollide() {
        assertEquals(prefix + ":@meta:a%3Ab:c", storage.metadataKey("a:b", "c"));
        assertEquals(prefix + ":@meta:a:b%3Ac", storage.metadataKey("a", "b:c"));
        assertEquals(prefix + ":@meta:100%25:x", storage.metadataKey("100%", "x"));
    }

    @Test
    void failuresAreStorageExceptionsWithoutKeys() throws Exception {
        raw.zadd(prefix + ":session:wrongtype", 1, "x");
        StorageException e = assertThrows(StorageException.class, () -> storage.get("session:wrongtype"));
        assertTrue(e.getMessage().startsWith("redis read failed"), e.getMessage());
        assertFalse(e.getMessage().contains("wrongtype"), e.getMessage());
    }

    @Test
    void closedStorageFailsWithStorageException() throws Exception {
        storage.close();
        StorageException e = assertThrows(StorageException.class, () -> storage.get("session:a"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        storage = null;
    }
}
