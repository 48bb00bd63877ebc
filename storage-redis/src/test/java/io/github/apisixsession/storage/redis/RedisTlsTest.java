package io.github.apisixsession.storage.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
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
class RedisTlsTest {

    private static Path certs;
    private static RedisProcess redis;
    private static int tlsPort;

    @BeforeAll
    static void start() throws Exception {
        LocalRedis.requireBinaries();
        try {
            RedisProcess.run(List.of("openssl", "version"));
        } catch (java.io.IOException e) {
            org.junit.jupiter.api.Assumptions.abort("openssl is not installed: no test certificate (apt-get install openssl)");
        }
        certs = Files.createTempDirectory("redis-tls-");
        RedisProcess.run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=redis.test", "-addext", "subjectAltName=DNS:redis.test",
                "-keyout", certs.resolve("key.pem").toString(), "-out", certs.resolve("cert.pem").toString()));
        tlsPort = RedisProcess.freePort();
        redis = RedisProcess.launch("--tls-port", Integer.toString(tlsPort),
                "--tls-cert-file", certs.resolve("cert.pem").toString(),
                "--tls-key-file", certs.resolve("key.pem").toString(),
                "--tls-ca-cert-file", certs.resolve("cert.pem").toString(),
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
            long start = System.nanoTime();
            assertThrows(StorageException.class, () -> s.get("session:k"));
            assertTrue(System.nanoTime() - start < 3_000_000_000L);
        }
    }
}
