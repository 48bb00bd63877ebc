package io.github.apisixsession.benchmarks;

/**
 * One filter set-up under load: the conf of the main route ({@code /app/*}, ext-plugin-post-req
 * after key-auth with {@code anonymous_consumer}) and of the upstream login route ({@code /login},
 * ext-plugin-pre-req and ext-plugin-post-resp, {@code identity: "upstream"}).
 *
 * @param name       what the reports call it (noop, cookie, memory, redis, …)
 * @param plugin     the ext-plugin conf entry name ({@code noop} or {@code session})
 * @param appConf    the conf value of the main route
 * @param loginConf  the conf value of the login route
 */
record Target(String name, String plugin, String appConf, String loginConf) {

    static final String SECRET = "load-driver-secret-0123456789abcdef";

    boolean isNoop() {
        return plugin.equals("noop");
    }

    static Target noop() {
        return new Target("noop", "noop", "{}", "{}");
    }

    /**
     * The no-op filter plus the one ExtraInfo round trip the session filter makes on the main
     * route ({@code consumer_name}): the protocol's share of the session filter's cost.
     */
    static Target noopVar() {
        return new Target("noop-var", "noop", "{\"vars\": [\"consumer_name\"]}", "{}");
    }

    /**
     * The session filter with {@code storage} fields: {@code ""} for cookie storage, otherwise
     * JSON members such as {@code "storage": "memory", "memory": {"max_entries": 1000000}}.
     */
    static Target session(String name, String storageFields) {
        String extra = storageFields == null || storageFields.isBlank() ? "" : ", " + storageFields;
        String app = "{\"secret\": \"" + SECRET + "\", \"anonymous_consumer\": \"anon\", \"reject_status\": 401"
                + extra + "}";
        String login = "{\"secret\": \"" + SECRET + "\", \"identity\": \"upstream\"" + extra + "}";
        return new Target(name, "session", app, login);
    }

    /** The default storage fields of a storage name (a storage is just a route config). */
    static Target forStorage(String spec) {
        int eq = spec.indexOf('=');
        String name = eq < 0 ? spec : spec.substring(0, eq);
        if (eq >= 0) {
            return session(name, spec.substring(eq + 1));
        }
        return switch (name) {
            case "noop" -> noop();
            case "noop-var" -> noopVar();
            case "cookie" -> session("cookie", "");
            case "memory" -> session("memory", "\"storage\": \"memory\", \"memory\": {\"max_entries\": 1000000}");
            default -> session(name, "\"storage\": \"" + name + "\"");
        };
    }
}
