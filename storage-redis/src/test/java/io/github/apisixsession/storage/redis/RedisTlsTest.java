package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import io.github.apisixsession.testing.Causes;
import io.github.apisixsession.testing.RedisBinaries;
import io.github.apisixsession.testing.RequiresService;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code ssl}, {@code ssl_verify} and {@code server_name} against a TLS-only redis-server with a self-signed certificate. */
@RequiresService(RedisBinaries.class)
class RedisTlsTest {

    private static Path certs;
    private static RedisProcess redis;
    private static int tlsPort;

    @BeforeAll
    static void start() throws Exception {
        certs = Files.createTempDirectory("redis-tls-");
        TestCertificate cert = TestCertificate.create(certs, "redis.test");
        tlsPort = RedisProcess.freePort();
        redis = RedisProcess.launch("--tls-port", Integer.toString(tlsPort),
                "--tls-cert-file", cert.certificate.toString(),
                "--tls-key-file", cert.privateKey.toString(),
                "--tls-ca-cert-file", cert.certificate.toString(),
                "--tls-auth-clients", "no");
    }

    @AfterAll
    static void stop() {
        if (redis != null) {
            redis.close();
        }
        if (certs != null) {
            RedisProcess.deleteTree(certs);
        }
    }

    private static SessionStorage storage(Object... kv) {
        Map<String, Object> m = new HashMap<>(Map.of("port", tlsPort, "ssl", true, "prefix", "tls",
                "connect_timeout", 2000, "read_timeout", 2000));
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return new RedisSessionStorageProvider().create(StorageConfig.of("redis", m), StorageContext.system());
    }

    @Test
    void tlsWithoutVerificationWorks() throws Exception {
        try (SessionStorage s = storage("ssl_verify", false, "server_name", "redis.test")) {
            s.set("session:k", "v".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(30));
            assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), s.get("session:k").orElseThrow());
            // the client cache's invalidation connection is TLS too
            CacheProbe.awaitTracking((RedisSessionStorage) s);
            CacheProbe.cache((RedisSessionStorage) s, "session:k");
        }
    }

    @Test
    void verificationRejectsACertificateTheJvmDoesNotTrust() {
        try (SessionStorage s = storage()) {
            StorageException e = assertThrows(StorageException.class, () -> s.get("session:k"));
            assertTrue(e.getMessage().contains("redis read failed"), e.getMessage());
        }
    }

    @Test
    void plainTextToATlsPortFailsInsteadOfHanging() {
        Map<String, Object> m = new HashMap<>(Map.of("port", tlsPort, "read_timeout", 300, "connect_timeout", 300));
        try (SessionStorage s = new RedisSessionStorageProvider().create(StorageConfig.of("redis", m),
                StorageContext.system())) {
            // the TLS server resets the connection at once: the failure is not the read timeout
            StorageException e = assertThrows(StorageException.class, () -> s.get("session:k"));
            Causes.assertCausedBy(e, List.of(java.net.SocketException.class));
            Causes.assertNotCausedBy(e, List.of(java.net.SocketTimeoutException.class));
        }
    }
}
