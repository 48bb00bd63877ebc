package io.github.apisixsession.core.http;

import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.persistence.SessionEntry;

import java.util.List;
import java.util.Map;

/**
 * The headers the upstream trusts to say who the user is: APISIX's identity headers and the
 * route's {@code map_headers}. Set from the session or the consumer APISIX authenticated, and
 * removed from every request that has neither, so a client can never forge them.
 */
public final class IdentityHeaders {

    public static final String CONSUMER_USERNAME = "X-Consumer-Username";
    public static final String CREDENTIAL_IDENTIFIER = "X-Credential-Identifier";
    public static final String CONSUMER_GROUPS = "X-Consumer-Groups";
    public static final String CONSUMER_CUSTOM_ID = "X-Consumer-Custom-ID";
    /** Identity headers the upstream trusts; a client must never be able to set them. */
    public static final List<String> ALL = List.of(CONSUMER_USERNAME, CREDENTIAL_IDENTIFIER, CONSUMER_GROUPS,
            CONSUMER_CUSTOM_ID);

    private IdentityHeaders() {
    }

    /**
     * APISIX authenticated {@code consumer}: the username is set from consumer_name (older APISIX
     * versions do not set the header) and the groups from the session, since APISIX sets no groups
     * header; X-Credential-Identifier and X-Consumer-Custom-ID stay as APISIX's auth plugin left them.
     */
    public static void forConsumer(UpstreamHeaders upstream, String consumer, SessionEntry entry) {
        upstream.set(CONSUMER_USERNAME, consumer);
        upstream.set(CONSUMER_GROUPS, entry.joinedGroups());
    }

    /** The request carries a valid session: every identity header comes from it. */
    public static void forSession(UpstreamHeaders upstream, SessionEntry entry) {
        upstream.set(CONSUMER_USERNAME, entry.subject());
        upstream.set(CREDENTIAL_IDENTIFIER, entry.credential());
        upstream.set(CONSUMER_GROUPS, entry.joinedGroups());
        upstream.set(CONSUMER_CUSTOM_ID, null);
    }

    /** {@code map_headers}: each configured header from its session value, or removed. */
    public static void mapped(UpstreamHeaders upstream, SessionConfig config, SessionEntry entry) {
        for (Map.Entry<String, String> m : config.mapHeaders().entrySet()) {
            upstream.set(m.getKey(), entry.value(m.getValue()));
        }
    }

    /** No session and no consumer: whatever the client sent under these names is removed. */
    public static void strip(UpstreamHeaders upstream, SessionConfig config) {
        for (String name : ALL) {
            upstream.set(name, null);
        }
        for (String name : config.mapHeaders().keySet()) {
            upstream.set(name, null);
        }
    }
}
