package io.github.apisixsession.storage.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionMetadata.Entry;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Metadata rows beyond the contract: replacement, cascade on delete, duplicates, the index path. */
@RequiresService(SharedPostgres.class)
class PostgresMetadataTest {

    private static PostgresSessionStorage storage;
    private static String database;
    private String p;

    @BeforeAll
    static void open() throws Exception {
        storage = PgTest.open(PgTest.settings());
        database = io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase.get().database();
    }

    @AfterAll
    static void close() {
        if (storage != null) {
            storage.close();
        }
    }

    @BeforeEach
    void prefix() {
        p = "meta-" + UUID.randomUUID() + ":";
    }

    private long metaRows(String key) throws Exception {
        return PgTest.count(database, "SELECT count(*) FROM public.apisix_session_metadata WHERE key = ?", key);
    }

    @Test
    void deleteRemovesTheMetadataRowsThroughTheCascade() throws Exception {
        storage.set(p + "s", new byte[] {1}, Duration.ofHours(1), null, new SessionMetadata(List.of(
                new Entry("a1", p + "alice"), new Entry("a2", p + "alice"))));
        assertEquals(2, metaRows(p + "s"));
        storage.delete(p + "s"); // without metadata: the rows still go
        assertEquals(0, metaRows(p + "s"));
    }

    @Test
    void setWithMetadataReplacesTheOwnersSetWithoutKeepsThem() throws Exception {
        storage.set(p + "s", new byte[] {1}, Duration.ofHours(1), null, SessionMetadata.of("aud", p + "alice"));
        storage.set(p + "s", new byte[] {2}, Duration.ofHours(1), null, SessionMetadata.of("aud", p + "bob"));
        assertEquals(Map.of(), storage.sessionsOf("aud", p + "alice"));
        assertEquals(Set.of(p + "s"), storage.sessionsOf("aud", p + "bob").keySet());
        // a touch (the engine passes no metadata) keeps who the session belongs to
        storage.set(p + "s", new byte[] {3}, Duration.ofHours(1));
        assertEquals(Set.of(p + "s"), storage.sessionsOf("aud", p + "bob").keySet());
    }

    @Test
    void duplicateEntriesAreStoredOnce() throws Exception {
        storage.set(p + "s", new byte[] {1}, Duration.ofHours(1), null, new SessionMetadata(List.of(
                new Entry("aud", p + "alice"), new Entry("aud", p + "alice"))));
        assertEquals(1, metaRows(p + "s"));
    }

    @Test
    void aSubjectsSessionsAreFoundThroughAnIndexLedByAudienceAndSubject() throws Exception {
        for (int i = 0; i < 200; i++) {
            storage.set(p + "s" + i, new byte[] {1}, Duration.ofHours(1), null, SessionMetadata.of("aud", p + "user" + (i % 20)));
        }
        assertEquals(10, storage.sessionsOf("aud", p + "user3").size());
        // the plan depends on table sizes; the index that makes the lookup cheap at scale must exist
        String def = PgTest.strings(database, "SELECT indexdef FROM pg_indexes WHERE indexname = 'apisix_session_metadata_pkey'").get(0);
        assertEquals(true, def.endsWith("(audience, subject, key)"), def);
    }
}
