package io.github.apisixsession.apisix;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The operators' CLI against the real Redis on localhost, with sessions a runner would create. */
class SessionsCommandTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        out.reset();
        err.reset();
        return SessionsCommand.run(args, Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    @RequiresService(SharedRedis.class)
    void listsAndRevokesEverySessionOfASubject() throws Exception {
        String json = "{\"secret\":\"cli-test-secret-0123456789abcdef0123\",\"storage\":\"redis\",\"store_metadata\":true,"
                + "\"redis\":{\"host\":\"" + SharedRedis.HOST + "\",\"port\":" + SharedRedis.PORT
                + ",\"prefix\":\"cli-" + UUID.randomUUID() + "\"}}";
        Path config = Files.writeString(dir.resolve("route.json"), json);

        SessionStorages storages = SessionStorages.discover(new StorageContext(Clock.systemUTC(), k -> null));
        try (SessionEngine engine = new SessionEngine(Clock.systemUTC(), storages)) {
            SessionRoute route = engine.prepare(new SessionConfigParser(k -> null, storages.names(), "p").parse(json));
            for (String consumer : List.of("alice", "alice", "bob")) {
                assertInstanceOf(RequestDecision.Proceed.class, engine.onRequest(route, login(consumer)));
            }
            assertEquals(0, run("list", "--subject", "alice", "--config", config.toString()), err.toString());
            assertTrue(out.toString().contains("2 session(s) of alice in audience default"), out.toString());
            assertEquals(0, run("revoke", "--subject", "alice", "--config", config.toString()), err.toString());
            assertTrue(out.toString().contains("2 session(s) of alice revoked"), out.toString());
            assertEquals(0, engine.sessionsOf(route, "alice").size());
            assertEquals(1, engine.sessionsOf(route, "bob").size(), "other subjects keep their sessions");
            engine.revokeSessionsOf(route, "bob");
        }
    }

    @Test
    void refusesRoutesWithoutMetadataAndBadArguments() throws Exception {
        Path cookie = Files.writeString(dir.resolve("cookie.json"), "{\"secret\":\"x\"}");
        assertEquals(2, run("list", "--subject", "alice", "--config", cookie.toString()));
        assertTrue(err.toString().contains("store_metadata"), err.toString());
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"secret\":\"x\",\"nope\":1}");
        assertEquals(2, run("list", "--subject", "alice", "--config", bad.toString()));
        assertTrue(err.toString().contains("nope: unknown field"), err.toString());
        assertEquals(2, run("purge", "--subject", "alice", "--config", bad.toString()));
        assertEquals(2, run("list", "--config", bad.toString()));
        assertEquals(2, run("list", "--subject", "a", "--config", dir.resolve("missing.json").toString()));
        assertEquals(0, run("--help"));
        assertTrue(out.toString().contains("sessions list|revoke"));
    }

    @Test
    void theMemoryStorageIsOutOfReachAndSaysSo() throws Exception {
        // a memory storage lives inside the running runner: this process would see an empty one
        Path memory = Files.writeString(dir.resolve("memory.json"),
                "{\"secret\":\"cli-test-secret-0123456789abcdef0123\",\"storage\":\"memory\",\"store_metadata\":true}");
        for (String action : List.of("list", "revoke")) {
            assertEquals(1, run(action, "--subject", "alice", "--config", memory.toString()), action);
            assertTrue(err.toString().contains("keeps its sessions inside the running runner"), err.toString());
            assertEquals("", out.toString(), "no \"0 session(s)\" that looks like an answer");
        }
    }

    private static RequestView login(String consumer) {
        return new RequestView() {
            public String method() {
                return "GET";
            }

            public String path() {
                return "/";
            }

            public List<String> queryArgs(String name) {
                return List.of();
            }

            public List<String> headers(String name) {
                return List.of();
            }

            public List<HttpHeader> allHeaders() {
                return List.of();
            }

            public String remoteAddress() {
                return "127.0.0.1";
            }

            public String variable(String name) {
                return "consumer_name".equals(name) ? consumer : "";
            }

            public byte[] body() {
                return new byte[0];
            }
        };
    }
}
