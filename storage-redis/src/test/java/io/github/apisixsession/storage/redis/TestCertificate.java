package io.github.apisixsession.storage.redis;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;

/**
 * A self-signed certificate and its key as PEM files for a TLS test server, made with the JDK's
 * own {@code keytool} (always next to the {@code java} that runs the tests) and read back with
 * the {@link KeyStore} API: no openssl to install, no crypto library beyond the JDK's providers.
 */
final class TestCertificate {

    private static final char[] PASSWORD = "test-only".toCharArray();

    final Path certificate;
    final Path privateKey;

    private TestCertificate(Path certificate, Path privateKey) {
        this.certificate = certificate;
        this.privateKey = privateKey;
    }

    /** An RSA key and a certificate for {@code CN=<dnsName>} with that subjectAltName, valid one day, in {@code dir}. */
    static TestCertificate create(Path dir, String dnsName) throws IOException, GeneralSecurityException {
        Path store = dir.resolve("server.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        RedisProcess.run(List.of(keytool, "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "1", "-dname", "CN=" + dnsName, "-ext", "SAN=dns:" + dnsName,
                "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD)));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, PASSWORD);
        }
        Key key = ks.getKey("server", PASSWORD);
        Path cert = Files.writeString(dir.resolve("cert.pem"),
                pem("CERTIFICATE", ks.getCertificate("server").getEncoded()), StandardCharsets.US_ASCII);
        // getEncoded() of a private key is PKCS#8, which OpenSSL (hence redis-server) reads as "PRIVATE KEY"
        Path pkcs8 = Files.writeString(dir.resolve("key.pem"), pem("PRIVATE KEY", key.getEncoded()),
                StandardCharsets.US_ASCII);
        Files.delete(store);
        return new TestCertificate(cert, pkcs8);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
