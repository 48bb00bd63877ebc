package io.github.apisixsession.simulator;

/**
 * A route: a uri (exact, or a prefix when it ends with {@code *}), optional key-auth, the three
 * ext-plugin phases, and an upstream. Builder style.
 */
public final class Route {
    public static final String PRE_REQ = "ext-plugin-pre-req";
    public static final String POST_REQ = "ext-plugin-post-req";
    public static final String POST_RESP = "ext-plugin-post-resp";

    private final String uri;
    private String id;
    private long version = 1;
    private KeyAuth keyAuth;
    private ExtPluginConf preReq;
    private ExtPluginConf postReq;
    private ExtPluginConf postResp;
    private Upstream upstream = Upstream.ok();

    private Route(String uri) {
        this.uri = uri;
        this.id = uri.replaceAll("[^A-Za-z0-9]", "");
        if (this.id.isEmpty()) {
            this.id = "root";
        }
    }

    public static Route uri(String uri) {
        return new Route(uri);
    }

    public Route id(String id) {
        this.id = id;
        return this;
    }

    /** The route's conf_version (part of every PrepareConf key). */
    public Route version(long version) {
        this.version = version;
        return this;
    }

    public Route keyAuth(KeyAuth conf) {
        this.keyAuth = conf;
        return this;
    }

    public Route preReq(ExtPluginConf conf) {
        this.preReq = conf;
        return this;
    }

    public Route postReq(ExtPluginConf conf) {
        this.postReq = conf;
        return this;
    }

    public Route postResp(ExtPluginConf conf) {
        this.postResp = conf;
        return this;
    }

    public Route upstream(Upstream upstream) {
        this.upstream = upstream;
        return this;
    }

    public String uri() {
        return uri;
    }

    public String id() {
        return id;
    }

    public long version() {
        return version;
    }

    public KeyAuth keyAuth() {
        return keyAuth;
    }

    public ExtPluginConf preReq() {
        return preReq;
    }

    public ExtPluginConf postReq() {
        return postReq;
    }

    public ExtPluginConf postResp() {
        return postResp;
    }

    public Upstream upstream() {
        return upstream;
    }

    public ExtPluginConf phase(String phase) {
        switch (phase) {
            case PRE_REQ: return preReq;
            case POST_REQ: return postReq;
            case POST_RESP: return postResp;
            default: throw new IllegalArgumentException(phase);
        }
    }

    boolean matches(String path) {
        if (uri.endsWith("*")) {
            return path.startsWith(uri.substring(0, uri.length() - 1));
        }
        return uri.equals(path);
    }
}
