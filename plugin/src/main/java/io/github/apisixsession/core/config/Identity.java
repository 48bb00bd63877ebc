package io.github.apisixsession.core.config;

/** Where the subject of a new session comes from (config key {@code identity}). */
public enum Identity {
    /** The consumer an APISIX auth plugin attached ({@code consumer_name}, ext-plugin-post-req). */
    APISIX("apisix"),
    /** Response headers of the upstream's login response ({@code X-Session-Subject}, post-resp). */
    UPSTREAM("upstream"),
    /** No subject: an anonymous session on the first request (sticky sessions, carts). */
    NONE("none");

    private final String configName;

    Identity(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    static Identity fromConfig(String value) {
        for (Identity identity : values()) {
            if (identity.configName.equals(value)) {
                return identity;
            }
        }
        return null;
    }
}
