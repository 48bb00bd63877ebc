package io.github.apisixsession.simulator;

/**
 * An APISIX consumer with a key-auth key. {@code credentialId} and {@code customId} feed the
 * {@code X-Credential-Identifier} and {@code X-Consumer-Custom-ID} headers key-auth sets (when null
 * those headers are removed, as {@code core.request.set_header(ctx, name, nil)} does).
 */
public record Consumer(String username, String key, String credentialId, String customId, long version) {
    public static Consumer of(String username, String key) {
        return new Consumer(username, key, null, null, 1);
    }

    public Consumer withCredentialId(String id) {
        return new Consumer(username, key, id, customId, version);
    }

    public Consumer withCustomId(String id) {
        return new Consumer(username, key, credentialId, id, version);
    }

    public Consumer withVersion(long v) {
        return new Consumer(username, key, credentialId, customId, v);
    }
}
