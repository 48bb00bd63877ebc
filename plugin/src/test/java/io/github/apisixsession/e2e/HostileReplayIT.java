package io.github.apisixsession.e2e;

import static io.github.apisixsession.e2e.E2e.why;
import static io.github.apisixsession.e2e.E2e.withCookies;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.storage.postgres.testing.PostgresTestDatabase;
import io.github.apisixsession.storage.postgres.testing.SharedPostgres;
import io.github.apisixsession.testing.RequiresService;
import io.github.apisixsession.testing.SharedRedis;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;

/**
 * A stolen copy of a Redis session cookie is refused after logout on the runner that issued it
 * and on a second runner sharing the storage; the keys of a Redis dump (hash_storage_key) are not
 * cookies. The same for PostgreSQL.
 */
class HostileReplayIT {

    @Test
    @RequiresService(SharedRedis.class)
    void aLoggedOutCookieIsRefusedByBothRunnersAndADumpOpensNothing() {
        String prefix = "hostile-" + UUID.randomUUID();
        Map<String, Object> redisConf = Map.of("host", SharedRedis.HOST, "port", SharedRedis.PORT, "prefix", prefix);
        try (RunnerProcess a = E2e.start(); RunnerProcess b = E2e.start();
             SimulatedApisix gwA = E2e.gateway(a); SimulatedApisix gwB = E2e.gateway(b);
             JedisPooled redis = new JedisPooled(SharedRedis.HOST, SharedRedis.PORT)) {
            for (SimulatedApisix gw : new SimulatedApisix[] {gwA, gwB}) {
                gw.route(E2e.apisixRoute("/r/*", "storage", "redis", "reject_status", 401, "hash_storage_key", true,
                        "redis", redisConf));
            }
            CookieJar jar = E2e.login(gwA, a, "/r/login");
            CookieJar stolen = new CookieJar().put("session", jar.get("session"));
            E2e.assertIdentity(gwB.send(withCookies("/r/x", stolen)), b, "fiona");

            // a dump of the storage: neither its keys nor its values open a session
            Set<String> keys = redis.keys(prefix + "*");
            assertFalse(keys.isEmpty(), "the session is in Redis");
            for (String key : keys) {
                String tail = key.substring(key.lastIndexOf(':') + 1);
                for (String forged : new String[] {tail, key, String.valueOf(redis.get(key))}) {
                    Exchange ex = gwB.send(ClientRequest.get("/r/x").cookie("session=" + forged));
                    assertEquals(401, ex.status(), "a dump entry is not a cookie: " + forged + "\n" + why(ex, b));
                }
            }

            Exchange logout = gwA.send(ClientRequest.post("/r/x?session_logout").cookies(jar));
            assertEquals(200, logout.status(), why(logout, a));
            for (Object[] gw : new Object[][] {{gwA, a}, {gwB, b}}) {
                Exchange replay = ((SimulatedApisix) gw[0]).send(withCookies("/r/x", stolen));
                assertEquals(401, replay.status(), "the stolen copy is refused after logout\n"
                        + why(replay, (RunnerProcess) gw[1]));
            }
            // what remains is the shared state's revocation of it (issue 13), no session entry
            assertEquals(Set.of(), redis.keys(prefix + "*").stream().filter(k -> !k.contains("@{state}")).collect(
                    java.util.stream.Collectors.toSet()), "logout deleted the key");
        }
    }

    @Test
    @RequiresService(SharedPostgres.class)
    void postgresALoggedOutCopyIsRefusedByBothRunnersAndADumpOpensNothing() throws Exception {
        String database = PostgresTestDatabase.get().createDatabase("hostile");
        Map<String, Object> pg = PostgresStorageIT.postgres(database);
        try (RunnerProcess a = PostgresStorageIT.startRunner(); RunnerProcess b = PostgresStorageIT.startRunner();
             SimulatedApisix gwA = E2e.gateway(a); SimulatedApisix gwB = E2e.gateway(b)) {
            for (SimulatedApisix gw : new SimulatedApisix[] {gwA, gwB}) {
                gw.route(E2e.apisixRoute("/pg/*", "storage", "postgres", "postgres", pg, "reject_status", 401,
                        "hash_storage_key", true));
            }
            CookieJar jar = E2e.login(gwA, a, "/pg/login");
            CookieJar stolen = new CookieJar().put("session", jar.get("session"));
            E2e.assertIdentity(gwB.send(withCookies("/pg/x", stolen)), b, "fiona");

            List<String> dump = new ArrayList<>();
            try (Connection c = PostgresTestDatabase.get().connection(database);
                 PreparedStatement st = c.prepareStatement("SELECT key, data FROM public.apisix_sessions");
                 ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String key = rs.getString(1);
                    dump.add(key);
                    dump.add(key.substring(key.lastIndexOf(':') + 1));
                    dump.add(new String(rs.getBytes(2), java.nio.charset.StandardCharsets.UTF_8));
                    dump.add(Base64.getUrlEncoder().withoutPadding().encodeToString(rs.getBytes(2)));
                }
            }
            assertFalse(dump.isEmpty(), "the session is in PostgreSQL");
            for (String forged : dump) {
                Exchange ex = gwB.send(ClientRequest.get("/pg/x").cookie("session=" + forged));
                assertEquals(401, ex.status(), "a dump entry is not a cookie: " + forged + "\n" + why(ex, b));
            }

            Exchange logout = gwB.send(ClientRequest.post("/pg/x?session_logout").cookies(jar));
            assertEquals(200, logout.status(), why(logout, b));
            for (Object[] gw : new Object[][] {{gwA, a}, {gwB, b}}) {
                Exchange replay = ((SimulatedApisix) gw[0]).send(withCookies("/pg/x", stolen));
                assertEquals(401, replay.status(), "the stolen copy is refused after logout\n"
                        + why(replay, (RunnerProcess) gw[1]));
            }
        }
    }
}
