package io.github.apisixsession.runner.e2e;

import io.github.apisixsession.simulator.ExtPluginConf;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The two hosts the same flows run against, each started as its own process as APISIX's
 * {@code ext-plugin.cmd} would:
 * <ul>
 * <li>{@link #OURS}: {@code java -jar apisix-session-runner.jar}; the session filter decides in one
 * request-phase RPC.</li>
 * <li>{@link #OFFICIAL}: the unmodified official runner 0.4.0 as released
 * ({@code apisix-runner-starter-0.4.0.jar}, Spring Boot's PropertiesLauncher) with
 * {@code session-plugin-for-java-runner.jar} added through {@code -Dloader.path}, exactly as a user
 * adds it to an existing deployment; the filter needs a second RPC in ext-plugin-post-resp.</li>
 * <li>{@link #OFFICIAL_SCAN}: {@code apisix-runner-core:0.4.0} in a Spring Boot application of one's
 * own ({@link ScanningRunnerApplication}) that component-scans {@code io.github.apisixsession}, the
 * runner's installation guide's way; started as {@code java -cp <test classpath> <main>}.</li>
 * </ul>
 */
public enum Host {
    OURS("our host"),
    OFFICIAL("apisix-java-plugin-runner 0.4.0"),
    OFFICIAL_SCAN("apisix-runner-core 0.4.0, own application");

    public static final String SECRET = "e2e-secret-7f3c1a9b5d2e4f60a8b7c6d5e4f3a2b1";

    private final String label;

    Host(String label) {
        this.label = label;
    }

    @Override
    public String toString() {
        return label;
    }

    static Path property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException("system property " + name + " is not set (run through failsafe)");
        }
        Path p = Paths.get(value);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException(name + ": no file " + p);
        }
        return p;
    }

    static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The runner process with {@code SESSION_SECRET} set; extra JVM args go before the jar. */
    public RunnerProcess.Builder runner(String... jvmArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.add("-Xmx256m");
        cmd.addAll(List.of(jvmArgs));
        if (this == OURS) {
            cmd.add("-jar");
            cmd.add(property("runnerJar").toAbsolutePath().toString());
        } else if (this == OFFICIAL_SCAN) {
            String cp = System.getProperty("runnerClasspath");
            if (cp == null || cp.isEmpty()) {
                throw new IllegalStateException("system property runnerClasspath is not set (run through failsafe)");
            }
            cmd.add("-cp");
            cmd.add(cp);
            cmd.add(ScanningRunnerApplication.class.getName());
        } else {
            cmd.add("-Dloader.path=" + property("adapterJar").toAbsolutePath());
            cmd.add("-jar");
            cmd.add(property("officialRunnerJar").toAbsolutePath().toString());
        }
        return RunnerProcess.builder(Paths.get("unused"))
                .command(cmd)
                .env("SESSION_SECRET", SECRET)
                .startTimeout(Duration.ofSeconds(60));
    }

    public RunnerProcess start(String... jvmArgs) {
        try {
            return runner(jvmArgs).start();
        } catch (IOException e) {
            throw new AssertionError(this + " did not start: " + e.getMessage(), e);
        }
    }

    /**
     * Puts the session filter on {@code route}: in the request phase ({@code preReq} or post-req),
     * and in ext-plugin-post-resp where this host needs it. Our host needs post-resp only where the
     * upstream's response matters ({@code identity: "upstream"} login routes, {@code failure_limit}:
     * {@code responseMatters}); the official runner on every route, since only its post-resp reply
     * can carry the cookies (and must then re-emit the upstream's headers).
     */
    public Route session(Route route, boolean preReq, String conf, boolean responseMatters) {
        ExtPluginConf c = ExtPluginConf.of("session", conf);
        Route r = preReq ? route.preReq(c) : route.postReq(c);
        if (this != OURS || responseMatters) {
            r = r.postResp(ExtPluginConf.of("session", conf));
        }
        return r;
    }

    /** RPCs (HTTPReqCall + HTTPRespCall) one proxied request costs on this host. */
    public int callsPerProxiedRequest() {
        return this == OURS ? 1 : 2;
    }
}
