package io.github.apisixsession.simulator;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A runner started as its own OS process the way APISIX's {@code ext-plugin.cmd} does:
 * {@code java -jar <jar>} with {@code APISIX_LISTEN_ADDRESS=unix:<socket>} and
 * {@code APISIX_CONF_EXPIRE_TIME=<n>} plus any extra environment, stdout and stderr merged into a
 * log file ({@link #logs()}).
 *
 * <pre>{@code
 * try (RunnerProcess runner = RunnerProcess.builder(Path.of(System.getProperty("runnerJar")))
 *         .env("SESSION_SECRET", "…").confExpireTime(3600).start()) {
 *     SimulatedApisix apisix = SimulatedApisix.in(runner);
 *     …
 * }
 * }</pre>
 */
public final class RunnerProcess implements AutoCloseable {
    private final Builder config;
    private final Path dir;
    private final Path socket;
    private final Path logFile;
    private Process process;
    private Object socketBefore;
    private int starts;

    /** How to start a runner. */
    public static final class Builder {
        private final List<String> command = new ArrayList<>();
        private final List<String> jvmArgs = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Path jar;
        private long confExpireTime = 3600;
        private Duration startTimeout = Duration.ofSeconds(30);
        private Path socket;
        private Path cdsArchive;

        private Builder(Path jar) {
            this.jar = jar;
        }

        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        public Builder env(Map<String, String> more) {
            env.putAll(more);
            return this;
        }

        public Builder jvmArg(String arg) {
            jvmArgs.add(arg);
            return this;
        }

        /** The runner's time follows {@code clock} (its test-only switch) instead of the system clock. */
        public Builder clock(ClockFile clock) {
            return jvmArg(clock.jvmArg());
        }

        /** {@code APISIX_CONF_EXPIRE_TIME} in seconds (APISIX's default 3600). */
        public Builder confExpireTime(long seconds) {
            this.confExpireTime = seconds;
            return this;
        }

        public Builder startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }

        /**
         * Starts the JVM with this class-data sharing archive ({@code -XX:SharedArchiveFile}), as
         * the README tells users to; a stale archive is ignored by the JVM (silently: its cds log is off).
         */
        public Builder cdsArchive(Path archive) {
            this.cdsArchive = archive;
            return this;
        }

        /** Use this socket path instead of a fresh temporary one. */
        public Builder socket(Path socket) {
            this.socket = socket;
            return this;
        }

        /** Replaces {@code java -jar <jar>} by another command (the environment is still set). */
        public Builder command(List<String> cmd) {
            command.clear();
            command.addAll(cmd);
            return this;
        }

        /**
         * Starts the process and waits until its socket accepts connections: a new socket under
         * the path, also when another runner was serving it (a takeover).
         */
        public RunnerProcess start() throws IOException {
            RunnerProcess p = spawn();
            try {
                p.awaitSocket();
            } catch (IOException | RuntimeException e) {
                p.close();
                throw e;
            }
            return p;
        }

        /**
         * Starts the process without waiting, as APISIX's privileged agent does
         * ({@code ngx_pipe.spawn}); {@link RunnerProcess#awaitSocket()} waits.
         */
        public RunnerProcess spawn() throws IOException {
            RunnerProcess p = new RunnerProcess(this);
            try {
                p.exec();
            } catch (IOException | RuntimeException e) {
                p.close();
                throw e;
            }
            return p;
        }

        private Builder copy() {
            Builder b = new Builder(jar);
            b.command.addAll(command);
            b.jvmArgs.addAll(jvmArgs);
            b.env.putAll(env);
            b.confExpireTime = confExpireTime;
            b.startTimeout = startTimeout;
            b.socket = socket;
            b.cdsArchive = cdsArchive;
            return b;
        }
    }

    public static Builder builder(Path jar) {
        return new Builder(jar);
    }

    /**
     * The jar named by system property {@code runnerJar} (set by the failsafe config), with the
     * class-data sharing archive of {@code runnerCdsArchive} when that file exists.
     */
    public static Builder fromSystemProperty() {
        String jar = System.getProperty("runnerJar");
        if (jar == null || jar.isEmpty()) {
            throw new IllegalStateException("system property runnerJar is not set");
        }
        Builder b = builder(Paths.get(jar));
        String archive = System.getProperty("runnerCdsArchive");
        if (archive != null && Files.isRegularFile(Paths.get(archive))) {
            b.cdsArchive(Paths.get(archive));
        }
        return b;
    }

    private RunnerProcess(Builder config) throws IOException {
        this.config = config;
        this.dir = Files.createTempDirectory(Paths.get("/tmp"), "apisix-sim-");
        this.socket = config.socket != null ? config.socket : dir.resolve("runner.sock");
        this.logFile = dir.resolve("runner.log");
    }

    /**
     * How to start another runner like this one on the same socket path: while this one runs, the
     * new one takes the path over and this one drains and exits (an upgrade without downtime).
     */
    public Builder successor() {
        return config.copy().socket(socket);
    }

    private void launch() throws IOException {
        exec();
        awaitSocket();
    }

    private void exec() throws IOException {
        socketBefore = fileKey(socket);
        List<String> cmd = new ArrayList<>();
        if (config.command.isEmpty()) {
            cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
            if (config.cdsArchive != null) {
                cmd.add("-XX:SharedArchiveFile=" + config.cdsArchive.toAbsolutePath());
                cmd.add("-Xlog:cds*=off");
            }
            cmd.addAll(config.jvmArgs);
            cmd.add("-jar");
            cmd.add(config.jar.toAbsolutePath().toString());
        } else {
            cmd.addAll(config.command);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("APISIX_LISTEN_ADDRESS", "unix:" + socket.toAbsolutePath());
        pb.environment().put("APISIX_CONF_EXPIRE_TIME", Long.toString(config.confExpireTime));
        pb.environment().putAll(config.env);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        starts++;
        Files.writeString(logFile, "=== start #" + starts + ": " + String.join(" ", cmd) + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        process = pb.start();
    }

    /**
     * What tells one socket file from another under the same name: its device and inode, and its
     * modification time (an inode freed by a delete is often reused at once), or null when there is none.
     */
    static Object fileKey(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return List.of(a.fileKey(), a.lastModifiedTime());
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Waits until the path names a socket other than the one it named when this process was
     * started, and that socket accepts a connection; for the runner jar (not a custom
     * {@link Builder#command}) also until this start logged {@link #READY_LINE}: the runner
     * publishes its socket before it loads its plugins, and RPCs sent meanwhile wait for them,
     * which a test must not count as the runner's latency.
     */
    public void awaitSocket() throws IOException {
        long deadline = System.nanoTime() + config.startTimeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("runner exited with code " + process.exitValue()
                        + " before listening on " + socket + "; output:\n" + logs());
            }
            Object key = fileKey(socket);
            if (key != null && !key.equals(socketBefore) && (!config.command.isEmpty() || readyLogged())) {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    return;
                } catch (IOException notYet) {
                    // stale file or not listening yet
                }
            }
            sleep(50);
        }
        throw new IOException("runner did not listen on " + socket + " within " + config.startTimeout
                + "; output:\n" + logs());
    }

    /** What the runner logs once it serves with its plugins loaded. */
    public static final String READY_LINE = "RunnerMain - listening on ";

    private boolean readyLogged() {
        String all = logs();
        int thisStart = all.lastIndexOf("=== start #" + starts + ":");
        return thisStart >= 0 && all.indexOf(READY_LINE, thisStart) >= 0;
    }

    public Path socketPath() {
        return socket;
    }

    public Path logFile() {
        return logFile;
    }

    /** Everything the process (all its starts) wrote to stdout and stderr so far. */
    public String logs() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    /** Waits until the logs contain {@code text}; false on timeout. */
    public boolean awaitLog(String text, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (logs().contains(text)) {
                return true;
            }
            sleep(50);
        }
        return logs().contains(text);
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    /** SIGTERM, without waiting. */
    public void terminate() {
        if (process != null) {
            process.destroy();
        }
    }

    /** Waits up to {@code timeout} for the process to end; its exit code, or -1 if still alive. */
    public int awaitExit(Duration timeout) {
        if (process == null) {
            return -1;
        }
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    /** SIGTERM and wait (up to {@code timeout}); returns the exit code, or -1 if still alive. */
    public int stop(Duration timeout) {
        terminate();
        return awaitExit(timeout);
    }

    /** SIGTERM and wait up to 10 s; returns the exit code (-1 if it did not exit). */
    public int stop() {
        return stop(Duration.ofSeconds(10));
    }

    /** SIGKILL and wait. */
    public void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops (SIGTERM, then SIGKILL if needed) if still running, and starts again on the same socket. */
    public void restart() throws IOException {
        if (isAlive()) {
            if (stop() < 0) {
                kill();
            }
        }
        launch();
    }

    /** Starts again on the same socket (after {@link #kill()} or {@link #stop()}). */
    public void start() throws IOException {
        if (isAlive()) {
            throw new IllegalStateException("already running");
        }
        launch();
    }

    @Override
    public void close() {
        if (isAlive()) {
            if (stop(Duration.ofSeconds(5)) < 0) {
                kill();
            }
        }
        try {
            if (!listening(socket)) {
                Files.deleteIfExists(socket); // a successor's live socket stays
            }
            if (System.getenv("APISIX_SIM_KEEP_LOGS") == null) {
                Files.deleteIfExists(logFile);
                Files.deleteIfExists(dir);
            }
        } catch (IOException ignored) {
            // best effort (a custom socket path may live elsewhere)
        }
    }

    private static boolean listening(Path socket) {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The environment handed to the process, for reports. */
    public Map<String, String> extraEnv() {
        return Collections.unmodifiableMap(config.env);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
