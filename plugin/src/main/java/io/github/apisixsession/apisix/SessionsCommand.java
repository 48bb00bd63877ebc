package io.github.apisixsession.apisix;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfig;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.admin.SessionAdmin;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code java -jar apisix-session-runner.jar sessions list|revoke --subject alice --config route.json}:
 * lists or revokes every session of a subject in a route's storage, for operators ("log this user
 * out everywhere"). The route config is the {@code session} conf value (JSON) of the route. Listing
 * needs a server-side storage and {@code store_metadata: true}; revoking sets a marker in the
 * route's shared store (any storage, {@code shared_state}) and deletes the stored sessions, or
 * needs what listing needs when the route has no shared store. {@code revoke --audience} revokes
 * every session of the route's audience (a marker: needs a shared store).
 */
final class SessionsCommand {

    static final String USAGE = String.join(System.lineSeparator(),
            "usage: java -jar apisix-session-runner.jar sessions list|revoke --subject NAME --config ROUTE.json",
            "       java -jar apisix-session-runner.jar sessions revoke --audience --config ROUTE.json",
            "  list    print the live sessions of NAME (storage key and expiry)",
            "  revoke  refuse every session of NAME (or, with --audience, of the route's audience) created",
            "          until now, on every runner sharing the route's store (shared_state), and delete the",
            "          stored ones: they are refused from the next request on",
            "  --config  the route's session conf value (JSON), e.g. the file you keep it in;",
            "            it needs a Redis or PostgreSQL storage (the memory storage lives inside the runner)",
            "            and \"store_metadata\": true; $env:// secrets are read from this process's environment");

    private SessionsCommand() {
    }

    /** Whether the route's storage lives in the runner process (memory): another process sees nothing of it. */
    private static boolean inProcess(SessionStorages storages, SessionConfig config) throws StorageException {
        SessionStorages.Lease lease = storages.lease(config.storage(), config.storageConfig());
        try {
            SessionStorage started = lease.awaitStart(Duration.ofSeconds(60));
            return started != null && started.keepsSessionsInProcess();
        } finally {
            lease.release();
        }
    }

    /** Revokes with a marker (and deletes stored sessions); {@code subject} null: the whole audience. */
    private static int revoke(SessionEngine engine, SessionRoute route, String subject, PrintStream out)
            throws StorageException {
        String audience = route.config().audience();
        if (subject == null) {
            engine.revokeAudience(route);
            out.println("every session of audience " + audience + " created until now revoked");
        } else {
            int deleted = engine.revokeSessionsOf(route, subject);
            out.println(deleted + " session(s) of " + subject + " revoked in audience " + audience
                    + (SessionAdmin.shared(route) ? "; every older session refused by a marker in the shared store" : ""));
        }
        return 0;
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length == 0 || "--help".equals(args[0]) || "-h".equals(args[0])) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? RunnerMain.EXIT_USAGE : 0;
        }
        String action = args[0];
        String subject = null;
        String configFile = null;
        boolean audience = false;
        for (int i = 1; i < args.length; i++) {
            if ("--subject".equals(args[i]) && i + 1 < args.length) {
                subject = args[++i];
            } else if ("--audience".equals(args[i])) {
                audience = true;
            } else if ("--config".equals(args[i]) && i + 1 < args.length) {
                configFile = args[++i];
            } else {
                err.println("sessions: unexpected argument " + args[i]);
                err.println(USAGE);
                return RunnerMain.EXIT_USAGE;
            }
        }
        boolean target = audience ? subject == null && "revoke".equals(action) : subject != null && !subject.isEmpty();
        if (!("list".equals(action) || "revoke".equals(action)) || !target || configFile == null) {
            err.println(USAGE);
            return RunnerMain.EXIT_USAGE;
        }
        String json;
        try {
            json = Files.readString(Path.of(configFile), StandardCharsets.UTF_8);
        } catch (IOException e) {
            err.println("sessions: cannot read " + configFile + ": " + e.getMessage());
            return RunnerMain.EXIT_USAGE;
        }
        // the runners' clock: a marker set by this command must compare with their session times
        Clock clock = RunnerClock.get();
        SessionStorages storages = SessionStorages.discover(new StorageContext(clock, env::get));
        try (SessionEngine engine = new SessionEngine(clock, storages, SessionMetrics.NONE)) {
            SessionConfig config = new SessionConfigParser(env::get, storages.names(), "unused").parse(json);
            if ("revoke".equals(action) && config.sharedState().mode() != SessionConfig.SharedState.Mode.OFF) {
                SessionRoute route = engine.prepare(config);
                if (SessionAdmin.shared(route)) {
                    return revoke(engine, route, audience ? null : subject, out);
                }
            }
            if (audience) {
                err.println("sessions: revoke --audience needs a shared store (\"shared_state\")");
                return RunnerMain.EXIT_USAGE;
            }
            if (config.cookieStorage() || !config.storeMetadata()) {
                err.println("sessions: the route must use a server-side storage with \"store_metadata\": true "
                        + "(sessions created without it are not listed)");
                return RunnerMain.EXIT_USAGE;
            }
            if (inProcess(storages, config)) {
                err.println("sessions: the " + config.storage() + " storage keeps its sessions inside the running "
                        + "runner, out of this command's reach; use a Redis or PostgreSQL storage to list or revoke "
                        + "sessions from outside (or let users log out everywhere with logout_all_query_arg)");
                return RunnerMain.EXIT_FAILURE;
            }
            SessionRoute route = engine.prepare(config);
            if ("list".equals(action)) {
                Map<String, Instant> sessions = new TreeMap<>(engine.sessionsOf(route, subject));
                sessions.forEach((key, expiry) -> out.println(key + "\t" + expiry));
                out.println(sessions.size() + " session(s) of " + subject + " in audience " + config.audience());
            } else {
                return revoke(engine, route, subject, out);
            }
            return 0;
        } catch (ConfigException e) {
            err.println("sessions: " + configFile + ": " + e.getMessage());
            return RunnerMain.EXIT_USAGE;
        } catch (StorageException e) {
            err.println("sessions: storage " + e.getMessage());
            return RunnerMain.EXIT_FAILURE;
        }
    }
}
