package io.github.apisixsession.core.http;

import io.github.apisixsession.core.RequestView;
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
     * APISIX authenticated {@code consumer}: the username is set from consumer_name (APISIX before
     * 3.11 does not set the header) and the groups from the session, since APISIX sets no groups
     * header. X-Credential-Identifier and X-Consumer-Custom-ID stay only where APISIX set them in
     * this request, else they are the client's and are removed.
     */
    public static void forConsumer(UpstreamHeaders upstream, RequestView request, String consumer,
                                   SessionEntry entry) {
        upstream.set(CONSUMER_USERNAME, consumer);
        upstream.set(CONSUMER_GROUPS, entry.joinedGroups());
        if (!setByApisix(request, consumer)) {
            upstream.set(CREDENTIAL_IDENTIFIER, null);
            upstream.set(CONSUMER_CUSTOM_ID, null);
        }
    }

    /**
     * Whether APISIX's {@code attach_consumer} set the identity headers for {@code consumer} in
     * this request. Since 3.11 it sets X-Consumer-Username, X-Credential-Identifier and
     * X-Consumer-Custom-ID together, replacing a client's values and removing those the consumer
     * lacks; so one X-Consumer-Username equal to consumer_name shows the other two are APISIX's.
     * Before 3.11 it sets none, and a client that names its own consumer here is the only one that
     * could pass its own values (see docs/security.md).
     */
    static boolean setByApisix(RequestView request, String consumer) {
        List<String> names = request.headers(CONSUMER_USERNAME);
        return names.size() == 1 && names.get(0).equals(consumer);
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
