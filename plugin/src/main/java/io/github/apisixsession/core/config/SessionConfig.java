package io.github.apisixsession.core.config;

import io.github.apisixsession.storage.StorageConfig;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One route's session settings, parsed and validated once per conf token by
 * {@link SessionConfigParser}. Option names and defaults are Kong's session plugin's
 * (docs/configuration.md lists every one); times are whole seconds and 0 disables a timeout.
 *
 * @param ikms          sha256 of {@code secret} then of each {@code secret_fallbacks} entry
 * @param storage       {@code cookie} or the name of a storage provider
 * @param storageConfig the route's object under the storage's name (empty for cookie)
 */
public record SessionConfig(
        List<byte[]> ikms,
        String storage,
        StorageConfig storageConfig,
        String audience,
        Timeouts timeouts,
        int compressionThreshold,
        Cookie cookie,
        Remember remember,
        Logout logout,
        TokenLookup lookup,
        boolean forwardSession,
        boolean hashStorageKey,
        boolean hashSubject,
        boolean storeMetadata,
        Set<Bind> bind,
        Set<String> requestHeaders,
        Set<String> responseHeaders,
        Map<String, String> mapHeaders,
        Identity identity,
        String anonymousConsumer,
        int rejectStatus,
        int storageErrorStatus,
        FailureLimit failureLimit,
        String stickyCookieName,
        SharedState sharedState) {

    /** The storage name that keeps the whole session in the cookie. */
    public static final String COOKIE_STORAGE = "cookie";

    /** lua-resty-session caps storage TTLs and cookie lifetimes at 400 days. */
    public static final long MAX_SECONDS = 34_560_000L;

    public SessionConfig {
        ikms = List.copyOf(ikms);
        bind = Set.copyOf(bind);
        requestHeaders = Set.copyOf(requestHeaders);
        responseHeaders = Set.copyOf(responseHeaders);
        mapHeaders = Map.copyOf(mapHeaders);
    }

    public boolean cookieStorage() {
        return COOKIE_STORAGE.equals(storage);
    }

    /**
     * The longest a session of this route can live, counted from its creation time (renewals keep
     * it), or a remember cookie, which restores one: how long a "log out everywhere" marker matters.
     */
    public long longestLifetime() {
        long longest = timeouts.absolute() > 0 ? timeouts.absolute() : MAX_SECONDS;
        if (remember.enabled()) {
            longest = Math.max(longest, remember.absoluteTimeout() > 0 ? remember.absoluteTimeout() : MAX_SECONDS);
        }
        return Math.min(longest, MAX_SECONDS);
    }

    /** The name the session token travels under (cookie, header or query argument). */
    public String tokenName() {
        return lookup.name();
    }

    /** Keys are secrets: never print them. */
    @Override
    public String toString() {
        return "SessionConfig[storage=" + storage + ", audience=" + audience + ", token=" + lookup
                + ", identity=" + identity.configName() + "]";
    }

    /**
     * @param idling         {@code idling_timeout}
     * @param rolling        {@code rolling_timeout}; renewal past 75% of it
     * @param absolute       {@code absolute_timeout}
     * @param staleTtl       {@code stale_ttl}: how long a renewed server-side entry stays readable
     * @param touchThreshold idle seconds after which a request re-signs the cookie
     */
    public record Timeouts(long idling, long rolling, long absolute, long staleTtl, long touchThreshold) {
    }

    /**
     * @param sessionOnly true (lua-resty-session's behaviour): a browser-session cookie without
     *                    Expires; false: Expires/Max-Age at the session's earliest timeout
     */
    public record Cookie(String path, String domain, String sameSite, String priority, boolean partitioned,
                         boolean httpOnly, boolean secure, boolean sessionOnly) {
    }

    /**
     * Kong's remember-me: a persistent second cookie that restores the session after the browser
     * session ended. {@code pbkdf2Iterations} is 0 for HKDF ({@code remember_safety: "None"}).
     */
    public record Remember(boolean enabled, String cookieName, long rollingTimeout, long absoluteTimeout,
                           int pbkdf2Iterations) {
    }

    /**
     * @param allQueryArg {@code logout_all_query_arg}: revokes every session of the subject (a
     *                    marker; with {@code store_metadata} their stored entries are deleted too)
     */
    public record Logout(Set<String> methods, String queryArg, String postArg, boolean readBody,
                         String allQueryArg) {
        public Logout {
            methods = Set.copyOf(methods);
        }
    }

    /** Where the session token is read from and written to ({@code key_lookup}). */
    public record TokenLookup(Source source, String name) {
        public enum Source { COOKIE, HEADER, QUERY }

        @Override
        public String toString() {
            return source.name().toLowerCase(java.util.Locale.ROOT) + ":" + name;
        }
    }

    /** lua-resty-session 4.1's {@code bind}: the MAC also covers these request facts. */
    public enum Bind {
        IP(0x0100), SCHEME(0x0200), USER_AGENT(0x0400);

        private final int flag;

        Bind(int flag) {
            this.flag = flag;
        }

        public int flag() {
            return flag;
        }
    }

    /**
     * {@code failure_limit}: after this many upstream responses with a status in
     * {@code failure_status} within one session, the session is destroyed. 0 disables.
     */
    public record FailureLimit(int limit, List<StatusRange> statuses) {
        public static final FailureLimit OFF = new FailureLimit(0, List.of());

        public FailureLimit {
            statuses = List.copyOf(statuses);
        }

        public boolean enabled() {
            return limit > 0;
        }

        public boolean counts(int status) {
            for (StatusRange r : statuses) {
                if (status >= r.from() && status <= r.to()) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * {@code shared_state}: where revocations, markers and failure counters are shared by every
     * runner ({@code ROUTE_STORAGE}: the route's storage, if it offers shared state; {@code STORE}:
     * the named one; {@code OFF}: this runner only).
     *
     * @param failOpen {@code on_failure: "open"}: while the store cannot be trusted, keep checking
     *                 the last copy instead of answering {@code storage_error_status}
     */
    public record SharedState(Mode mode, String storage, StorageConfig storageConfig, boolean failOpen) {
        public static final SharedState OFF = new SharedState(Mode.OFF, null, null, false);
        /**
         * No {@code shared_state} on a server-side route: its storage's shared state, if any, fail-open
         * for the copy (the storage still refuses deleted sessions), so that a route that configured
         * nothing answers as before while the feed reconnects.
         */
        public static final SharedState IMPLICIT = new SharedState(Mode.ROUTE_STORAGE, null, null, true);
        public static final SharedState ROUTE_STORAGE = new SharedState(Mode.ROUTE_STORAGE, null, null, false);

        public enum Mode { ROUTE_STORAGE, STORE, OFF }
    }

    /** An inclusive range of HTTP status codes, e.g. 500–599 for "5xx". */
    public record StatusRange(int from, int to) {
    }
}
