package io.github.apisixsession.benchmarks;

import io.github.apisixsession.core.codec.KeyDerivation;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.core.codec.SessionCodecException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cookie seal and open (cookie storage: header and ciphertext in the cookie) against the physical
 * reference: a bare JCE AES-256-GCM plus HMAC-SHA256 over the same bytes, with reused
 * {@link Cipher} and {@link Mac} instances and no key derivation, no base64 and no header.
 *
 * <p>{@code open*} = verify the header (base64url, checks, HKDF MAC key, HMAC) and decrypt the
 * payload (base64url, HKDF key and IV, AES-GCM); {@code bareOpen} = HMAC-SHA256 over the 66 header
 * bytes plus AES-GCM decrypt of the ciphertext with the 47-byte AAD. Seal is the same in reverse.
 * Compression is off ({@code compression_threshold: 0}) so both sides work on the same bytes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class CodecBenchmark {

    /** Plaintext size in bytes: a small session (200) and one near the single-cookie limit (4 KB). */
    @Param({"200", "4096"})
    public int payloadBytes;

    private static final int SIDS = 1024;
    private static final SessionCodec.Timeouts TIMEOUTS = new SessionCodec.Timeouts(900, 3600, 86400);

    private SessionCodec codec;
    private byte[] plaintext;
    private byte[][] sids;
    private int next;
    private long now;
    private String cookie;

    private Cipher cipher;
    private Mac mac;
    private SecretKeySpec aesKey;
    private SecretKeySpec macKey;
    private byte[][] ivs;
    private byte[] header;
    private byte[] ciphertext;
    private byte[] iv;
    private SecretKeySpec[] aesKeys;
    private SecretKeySpec[] macKeys;
    private byte[][] ciphertexts;
    private Mac prkMac;
    private byte[][] formatCiphertexts;
    private static final byte[] ENC_INFO = "encryption:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] AUTH_INFO = "authentication:".getBytes(StandardCharsets.US_ASCII);

    @Setup
    public void setUp() throws GeneralSecurityException, SessionCodecException {
        codec = new SessionCodec(List.of(SessionCodec.ikmOf("benchmark-secret-benchmark-secret")), 0);
        plaintext = plaintext(payloadBytes);
        SecureRandom random = new SecureRandom();
        sids = new byte[SIDS][32];
        ivs = new byte[SIDS][12];
        for (int i = 0; i < SIDS; i++) {
            random.nextBytes(sids[i]);
            random.nextBytes(ivs[i]);
        }
        now = System.currentTimeMillis() / 1000;
        SessionCodec.Sealed sealed = codec.seal(sids[0], 0, now, 0, 0, plaintext, KeyDerivation.HKDF);
        cookie = sealed.encodedHeader() + sealed.payload();
        if (!Arrays.equals(open(), plaintext)) {
            throw new IllegalStateException("codec round trip failed");
        }

        next = 1; // ivs[0] was just used to encrypt: GCM refuses to encrypt twice with one key and IV
        cipher = Cipher.getInstance("AES/GCM/NoPadding");
        mac = Mac.getInstance("HmacSHA256");
        byte[] key = new byte[32];
        random.nextBytes(key);
        aesKey = new SecretKeySpec(key, "AES");
        random.nextBytes(key);
        macKey = new SecretKeySpec(key, "HmacSHA256");
        header = new byte[82];
        random.nextBytes(header);
        iv = ivs[0];
        cipher.init(Cipher.ENCRYPT_MODE, aesKey, new GCMParameterSpec(128, iv));
        cipher.updateAAD(header, 0, 47);
        ciphertext = cipher.doFinal(plaintext);
        if (!Arrays.equals(bareOpen(), plaintext)) {
            throw new IllegalStateException("bare round trip failed");
        }
        prkMac = Mac.getInstance("HmacSHA256");
        random.nextBytes(key);
        prkMac.init(new SecretKeySpec(key, "HmacSHA256"));
        formatCiphertexts = new byte[SIDS][];
        for (int i = 0; i < SIDS; i++) {
            byte[][] keyIv = deriveKeyIv(sids[i]);
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(keyIv[0], "AES"),
                    new GCMParameterSpec(128, keyIv[1], 0, 12));
            cipher.updateAAD(header, 0, 47);
            formatCiphertexts[i] = cipher.doFinal(plaintext);
        }
        aesKeys = new SecretKeySpec[SIDS];
        macKeys = new SecretKeySpec[SIDS];
        ciphertexts = new byte[SIDS][];
        for (int i = 0; i < SIDS; i++) {
            random.nextBytes(key);
            aesKeys[i] = new SecretKeySpec(key, "AES");
            random.nextBytes(key);
            macKeys[i] = new SecretKeySpec(key, "HmacSHA256");
            cipher.init(Cipher.ENCRYPT_MODE, aesKeys[i], new GCMParameterSpec(128, ivs[i]));
            cipher.updateAAD(header, 0, 47);
            ciphertexts[i] = cipher.doFinal(plaintext);
        }
    }

    /** A session-like JSON document of exactly {@code size} bytes. */
    static byte[] plaintext(int size) {
        StringBuilder sb = new StringBuilder("[[[\"fiona\",\"key-auth\",[\"staff\",\"admins\"],{\"data\":\"");
        int i = 0;
        while (sb.length() < size - 12) {
            sb.append((char) ('a' + (i++ * 7) % 26));
        }
        sb.append("\"}],\"default\"]]");
        while (sb.length() < size) {
            sb.insert(sb.length() - 4, ' ');
        }
        return Arrays.copyOf(sb.toString().getBytes(StandardCharsets.US_ASCII), size);
    }

    @Benchmark
    public SessionCodec.Sealed seal() {
        byte[] sid = sids[next++ & (SIDS - 1)];
        return codec.seal(sid, 0, now, 0, 0, plaintext, KeyDerivation.HKDF);
    }

    @Benchmark
    public byte[] open() throws SessionCodecException {
        SessionCodec.Verified verified = codec.verifyHeader(cookie, false, false, TIMEOUTS, now);
        return codec.decrypt(verified, cookie.substring(110), KeyDerivation.HKDF);
    }

    @Benchmark
    public byte[] bareSeal() throws GeneralSecurityException {
        byte[] nonce = ivs[next++ & (SIDS - 1)];
        cipher.init(Cipher.ENCRYPT_MODE, aesKey, new GCMParameterSpec(128, nonce));
        cipher.updateAAD(header, 0, 47);
        byte[] sealed = cipher.doFinal(plaintext);
        System.arraycopy(sealed, sealed.length - 16, header, 47, 16);
        mac.init(macKey);
        mac.update(header, 0, 66);
        byte[] tag = mac.doFinal();
        System.arraycopy(tag, 0, header, 66, 16);
        return sealed;
    }

    @Benchmark
    public byte[] bareOpen() throws GeneralSecurityException {
        mac.init(macKey);
        mac.update(header, 0, 66);
        byte[] tag = mac.doFinal();
        if (!MessageDigest.isEqual(Arrays.copyOf(tag, 16), Arrays.copyOfRange(header, 66, 82))) {
            // the header is random here: compare anyway so the work is not optimised away
            header[81] ^= 0;
        }
        cipher.init(Cipher.DECRYPT_MODE, aesKey, new GCMParameterSpec(128, iv));
        cipher.updateAAD(header, 0, 47);
        return cipher.doFinal(ciphertext);
    }

    /**
     * What the cookie format itself requires of any implementation, on bare JCE: HKDF-Expand of
     * the MAC key (one HMAC block), HMAC-SHA256 over the header, HKDF-Expand of the AES key and IV
     * (two HMAC blocks), and AES-GCM under that fresh key. No base64, no header parsing, no
     * checks: the floor for {@link #open}.
     */
    @Benchmark
    public byte[] bareOpenFormat() throws GeneralSecurityException {
        int i = next++ & (SIDS - 1);
        byte[] sid = sids[i];
        prkMac.update(AUTH_INFO);
        prkMac.update(sid);
        prkMac.update((byte) 1);
        byte[] macKeyBytes = prkMac.doFinal();
        mac.init(new SecretKeySpec(macKeyBytes, "HmacSHA256"));
        mac.update(header, 0, 66);
        byte[] tag = mac.doFinal();
        if (!MessageDigest.isEqual(Arrays.copyOf(tag, 16), Arrays.copyOfRange(header, 66, 82))) {
            header[81] ^= 0;
        }
        byte[][] keyIv = deriveKeyIv(sid);
        cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(keyIv[0], "AES"), new GCMParameterSpec(128, keyIv[1], 0, 12));
        cipher.updateAAD(header, 0, 47);
        return cipher.doFinal(formatCiphertexts[i]);
    }

    /** HKDF-Expand(PRK, "encryption:" || sid, 44) as two HMAC blocks: {T(1), T(2)}. */
    private byte[][] deriveKeyIv(byte[] sid) {
        prkMac.update(ENC_INFO);
        prkMac.update(sid);
        prkMac.update((byte) 1);
        byte[] t1 = prkMac.doFinal();
        prkMac.update(t1);
        prkMac.update(ENC_INFO);
        prkMac.update(sid);
        prkMac.update((byte) 2);
        return new byte[][] {t1, prkMac.doFinal()};
    }

    /**
     * {@link #bareOpen} with a different key pair for every message (1024 in rotation), as any
     * scheme with per-message keys must: the JDK then redoes the AES key schedule and the HMAC key
     * setup on every call, which it skips when the key is the same as the previous call's.
     */
    @Benchmark
    public byte[] bareOpenNewKey() throws GeneralSecurityException {
        int i = next++ & (SIDS - 1);
        mac.init(macKeys[i]);
        mac.update(header, 0, 66);
        byte[] tag = mac.doFinal();
        if (!MessageDigest.isEqual(Arrays.copyOf(tag, 16), Arrays.copyOfRange(header, 66, 82))) {
            header[81] ^= 0;
        }
        cipher.init(Cipher.DECRYPT_MODE, aesKeys[i], new GCMParameterSpec(128, ivs[i]));
        cipher.updateAAD(header, 0, 47);
        return cipher.doFinal(ciphertexts[i]);
    }
}
