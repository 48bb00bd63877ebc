package io.github.apisixsession.apisix;

import java.io.IOException;
import java.io.PrintStream;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runner APISIX starts through {@code ext-plugin.cmd}: serves the ext-plugin protocol on
 * {@code APISIX_LISTEN_ADDRESS} with the plugins found by {@link ServiceLoader} until SIGTERM.
 *
 * <p>Environment: {@code APISIX_LISTEN_ADDRESS} (required, {@code unix:/abs/path}),
 * {@code APISIX_CONF_EXPIRE_TIME} (seconds, default 3600), {@code SESSION_RUNNER_CONF_GRACE}
 * (seconds, default 10), {@code SESSION_RUNNER_CONF_CAPACITY} (default 100000),
 * {@code SESSION_RUNNER_SOCKET_MODE} (octal, default 0666, or 0660 with allowed groups), who may
 * connect ({@code SESSION_RUNNER_ALLOW_UIDS}, {@code SESSION_RUNNER_ALLOW_GIDS}), and the process
 * life ({@code SESSION_RUNNER_TAKEOVER}, {@code SESSION_RUNNER_HANDOVER_WAIT},
 * {@code SESSION_RUNNER_DRAIN_TIMEOUT}): see the usage text and docs/architecture.md.
 */
public final class RunnerMain {

    static final int EXIT_USAGE = 2;
    static final int EXIT_FAILURE = 1;

    private static final String USAGE = String.join(System.lineSeparator(),
            "usage: java -jar apisix-session-runner.jar [run | migrate ... | sessions ... | cds-archive | --version]",
            "  run       serve APISIX's ext-plugin protocol (the default)",
            "  --version print the version, git commit and build time",
            "  migrate   apply the PostgreSQL storage's schema migrations and exit (migrate --help)",
            "  sessions  list or revoke every session of a subject (sessions --help)",
            "  cds-archive  start, serve one request and stop: run it as java -XX:ArchiveClassesAtExit=FILE.jsa",
            "            -jar ... cds-archive, then start the runner with -XX:SharedArchiveFile=FILE.jsa (faster start)",
            "environment:",
            "  APISIX_LISTEN_ADDRESS         unix:/absolute/path of the socket (required; set by APISIX)",
            "  APISIX_CONF_EXPIRE_TIME       conf token lifetime in seconds (default 3600; set by APISIX)",
            "  SESSION_RUNNER_CONF_GRACE     seconds kept beyond that (default 10)",
            "  SESSION_RUNNER_CONF_CAPACITY  most conf tokens kept (default 100000)",
            "  SESSION_RUNNER_SOCKET_MODE    octal permissions of the socket file (default 0666; 0660 with ALLOW_GIDS)",
            "  SESSION_RUNNER_ALLOW_UIDS     users (names or uids, comma-separated) allowed to connect besides root and",
            "                                the runner's user (default: the users local nginx workers run as; any: all)",
            "  SESSION_RUNNER_ALLOW_GIDS     groups allowed to connect; the socket gets the first one (default: none)",
            "  SESSION_RUNNER_TAKEOVER       take the socket over from a runner serving it, which then drains (default true)",
            "  SESSION_RUNNER_HANDOVER_WAIT  seconds to serve on after SIGTERM until a successor takes over",
            "                                (default 0.6 on APISIX's apisix-<pid>.sock, i.e. under ext-plugin.cmd; else 0)",
            "  SESSION_RUNNER_DRAIN_TIMEOUT  seconds in-flight RPCs get once draining began (default 5)",
            "  SESSION_RUNNER_STORAGE_IDLE_CLOSE  seconds a Redis/PostgreSQL storage no route uses stays open (default 60)",
            "  SESSION_RUNNER_FRAME_TIMEOUT  seconds before a connection stuck inside a frame is closed (default 60)",
            "  SESSION_RUNNER_IDLE_TIMEOUT   seconds before a connection with no RPC is closed (default 600, 0: never)",
            "  SESSION_RUNNER_LIB_DIR        folder of extra jars (custom storages; default: lib/ next to the jar)",
            "  SESSION_METRICS_ADDRESS       loopback host:port for Prometheus metrics, e.g. 127.0.0.1:9464 (off by default)");

    /**
     * Commands that live in a bundled storage module, found by class name so the host has no
     * compile-time dependency on them: {@code public static int run(String[] args,
     * Map<String, String> env, PrintStream out, PrintStream err)}.
     */
    static final String MIGRATE_COMMAND = "io.github.apisixsession.storage.postgres.PostgresMigrateCommand";

    private RunnerMain() {
    }

    /** Runs {@code className}'s static {@code run(args, env, out, err)}; exit code 1 when it is not on the classpath. */
    static int external(String className, String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        java.lang.reflect.Method run;
        try {
            run = Class.forName(className, true, RunnerMain.class.getClassLoader())
                    .getMethod("run", String[].class, Map.class, PrintStream.class, PrintStream.class);
        } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
            err.println("apisix-session-runner: this command needs " + className + " on the classpath: " + e);
            return EXIT_FAILURE;
        }
        try {
            return (Integer) run.invoke(null, args, env, out, err);
        } catch (java.lang.reflect.InvocationTargetException e) {
            err.println("apisix-session-runner: " + e.getCause());
            return EXIT_FAILURE;
        } catch (IllegalAccessException | ClassCastException e) {
            err.println("apisix-session-runner: cannot run " + className + ": " + e);
            return EXIT_FAILURE;
        }
    }

    public static void main(String[] args) {
        // exit also on 0: the metrics endpoint's HTTP dispatcher is not a daemon thread
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    /** Everything but the process exit; returns the exit code (blocks while serving). */
    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length > 0) {
            switch (args[0]) {
                case "run":
                    break;
                case "help", "-h", "--help":
                    out.println(USAGE);
                    return 0;
                case "version", "--version", "-V":
                    out.println(BuildInfo.current().versionText());
                    return 0;
                case "migrate":
                    return external(MIGRATE_COMMAND, java.util.Arrays.copyOfRange(args, 1, args.length), env, out, err);
                case "sessions":
                    return SessionsCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), env, out, err);
                case "cds-archive":
                    return CdsTraining.run(out, err);
                default:
                    err.println("unknown command: " + args[0]);
                    err.println(USAGE);
                    return EXIT_USAGE;
            }
        }
        HostSettings settings;
        try {
            settings = HostSettings.fromEnv(env);
            // conf tokens age on the session plugin's clock (the test-only switch moves both)
            settings = settings.withTicker(RunnerClock.confTicker(RunnerClock.get()));
        } catch (IllegalArgumentException e) {
            err.println("apisix-session-runner: " + e.getMessage());
            return EXIT_USAGE;
        }
        Logger log = LoggerFactory.getLogger(RunnerMain.class);
        log.info("{}", BuildInfo.current().summary());
        String metricsAddress = env.get("SESSION_METRICS_ADDRESS");
        if (metricsAddress != null && !metricsAddress.isBlank()) {
            try {
                MetricsEndpoint.parse(metricsAddress.trim()); // a bad address stops the runner before it listens
            } catch (IllegalArgumentException e) {
                err.println("apisix-session-runner: metrics: " + e.getMessage());
                return EXIT_USAGE;
            }
        }
        Thread.setDefaultUncaughtExceptionHandler(RunnerMain::uncaught);
        // listen first, load the plugins after: APISIX's RPCs wait for them instead of failing
        // with "connection refused" during the start
        ExtPluginServer server;
        try {
            server = ExtPluginServer.open(settings);
        } catch (IOException | IllegalArgumentException e) {
            err.println("apisix-session-runner: cannot listen on " + settings.socketPath() + ": " + e.getMessage());
            return EXIT_FAILURE;
        }
        installSignalHandlers(server);
        int code = load(server, settings, env, err, log);
        if (code != 0) {
            server.shutdown(java.time.Duration.ZERO);
            return code;
        }
        try {
            server.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
        return 0;
    }

    /** Loads the extension jars, the plugins and the metrics endpoint, and hands the plugins to the server. */
    private static int load(ExtPluginServer server, HostSettings settings, Map<String, String> env, PrintStream err,
            Logger log) {
        List<Path> extraJars = extensionJars(env);
        if (!extraJars.isEmpty()) {
            // ServiceLoader looks through the context class loader: storages and plugins in lib/
            // are found like the bundled ones
            Thread.currentThread().setContextClassLoader(new URLClassLoader(toUrls(extraJars),
                    RunnerMain.class.getClassLoader()));
            log.info("extension jars: {}", extraJars);
        }
        List<ExtPlugin<?>> plugins;
        try {
            plugins = discoverPlugins();
        } catch (ServiceConfigurationError e) {
            err.println("apisix-session-runner: cannot load a plugin: " + e.getMessage());
            return EXIT_FAILURE;
        }
        String metricsAddress = env.get("SESSION_METRICS_ADDRESS");
        if (metricsAddress != null && !metricsAddress.isBlank()) {
            try {
                MetricsEndpoint metrics = MetricsEndpoint.start(metricsAddress.trim(), PrometheusMetrics.shared());
                log.info("metrics on http://{}:{}/metrics", metrics.address().getHostString(),
                        metrics.address().getPort());
            } catch (IOException | IllegalArgumentException e) {
                err.println("apisix-session-runner: metrics: " + e.getMessage());
                return EXIT_USAGE;
            }
        }
        try {
            server.serve(plugins);
        } catch (IOException | IllegalArgumentException e) {
            err.println("apisix-session-runner: cannot take over " + settings.socketPath() + ": " + e.getMessage());
            return EXIT_FAILURE;
        }
        log.info("listening on {} (conf lifetime {} s, capacity {}) with plugins {}; peers allowed: {}",
                server.socketPath(), settings.confLifetime().toSeconds(), settings.confCapacity(),
                server.pluginNames(), settings.peers().describe());
        return 0;
    }

    /** An Error in any thread of ours that ends the JVM's trust in itself ends the process. */
    private static void uncaught(Thread thread, Throwable e) {
        if (e instanceof VirtualMachineError vme) {
            FatalErrors.exit(vme);
        }
        LoggerFactory.getLogger(RunnerMain.class).error("thread {} failed: {}: {}", thread.getName(),
                e.getClass().getName(), e.getMessage());
    }

    /**
     * Jars in {@code SESSION_RUNNER_LIB_DIR}, by default the {@code lib/} folder next to the runner
     * jar: custom storages (and plugins) dropped there are loaded at start.
     */
    static List<Path> extensionJars(Map<String, String> env) {
        Path dir;
        String configured = env.get("SESSION_RUNNER_LIB_DIR");
        if (configured != null && !configured.isBlank()) {
            dir = Path.of(configured);
        } else {
            try {
                Path self = Path.of(RunnerMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                dir = self.getParent() == null ? null : self.getParent().resolve("lib");
            } catch (URISyntaxException | SecurityException | NullPointerException e) {
                return List.of();
            }
        }
        if (dir == null || !Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static URL[] toUrls(List<Path> jars) {
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            try {
                urls[i] = jars.get(i).toUri().toURL();
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException("bad jar path " + jars.get(i), e);
            }
        }
        return urls;
    }

    /** The plugins registered in {@code META-INF/services/io.github.apisixsession.apisix.ExtPlugin}. */
    @SuppressWarnings("rawtypes")
    public static List<ExtPlugin<?>> discoverPlugins() {
        List<ExtPlugin<?>> plugins = new ArrayList<>();
        for (ExtPlugin plugin : ServiceLoader.load(ExtPlugin.class, Thread.currentThread().getContextClassLoader())) {
            plugins.add((ExtPlugin<?>) plugin);
        }
        return plugins;
    }

    /**
     * SIGTERM (APISIX stopping, or reloading) and SIGINT: serve on while no successor has taken the
     * path over, for at most {@code SESSION_RUNNER_HANDOVER_WAIT}; then stop accepting, answer every
     * RPC in flight, close the plugins, delete the socket if it is still this runner's, exit 0 (the
     * main thread returns once the server has terminated; nothing here calls System.exit, which
     * would run the shutdown hook concurrently with the drain). The hook covers other exits.
     */
    private static void installSignalHandlers(ExtPluginServer server) {
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "a6-shutdown-hook"));
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> {
                    Thread stopper = new Thread(() -> {
                        LoggerFactory.getLogger(RunnerMain.class).info("SIG{} received, shutting down", name);
                        server.stop();
                    }, "a6-shutdown");
                    stopper.start();
                });
            } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
                // no such signal here: the shutdown hook still closes the server
            }
        }
    }
}
