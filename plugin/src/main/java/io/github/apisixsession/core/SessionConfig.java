package io.github.apisixsession.core;

import io.github.apisixsession.storage.StorageConfig;

import java.util.List;
import java.util.Set;

/**
 * One route's session settings, parsed and validated once per conf token by
 * {@link SessionConfigParser}. Option names and defaults are Kong's session plugin's; times are
 * whole seconds and 0 disables a timeout.
 *
 * @param ikms             sha256 of {@code secret} then of each {@code secret_fallbacks} entry
 * @param storage          {@code cookie} or the name of a storage provider
 * @param storageConfig    the route's object under the storage's name (empty for cookie)
 * @param rejectStatus     0 lets requests without a session through; otherwise their status
 * @param requestHeaders   Kong's {@code request_headers} values (id, audience, subject, timeout, …)
 * @param responseHeaders  Kong's {@code response_headers} values
 */
public record SessionConfig(
        List<byte[]> ikms,
        String storage,
        StorageConfig storageConfig,
        String audience,
        long idlingTimeout,
        long rollingTimeout,
        long absoluteTimeout,
        long staleTtl,
        long touchThreshold,
        int compressionThreshold,
        String cookieName,
        String cookiePath,
        String cookieDomain,
        String cookieSameSite,
        String cookiePriority,
        boolean cookiePartitioned,
        boolean cookieHttpOnly,
        boolean cookieSecure,
        Set<String> logoutMethods,
        String logoutQueryArg,
        String logoutPostArg,
        boolean readBodyForLogout,
        boolean hashStorageKey,
        Set<String> requestHeaders,
        Set<String> responseHeaders,
        Identity identity,
        String anonymousConsumer,
        int rejectStatus,
        int storageErrorStatus) {

    /** The storage name that keeps the whole session in the cookie. */
    public static final String COOKIE_STORAGE = "cookie";

    public SessionConfig {
        ikms = List.copyOf(ikms);
        logoutMethods = Set.copyOf(logoutMethods);
        requestHeaders = Set.copyOf(requestHeaders);
        responseHeaders = Set.copyOf(responseHeaders);
    }

    public boolean cookieStorage() {
        return COOKIE_STORAGE.equals(storage);
    }

    /** Keys are secrets: never print them. */
    @Override
    public String toString() {
        return "SessionConfig[storage=" + storage + ", audience=" + audience + ", cookie=" + cookieName
                + ", identity=" + identity.configName() + "]";
    }
}
