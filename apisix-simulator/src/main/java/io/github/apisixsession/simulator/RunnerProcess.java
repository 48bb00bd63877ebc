package io.github.apisixsession.simulator;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
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

        /** Starts the process and waits until its socket accepts connections. */
        public RunnerProcess start() throws IOException {
            RunnerProcess p = new RunnerProcess(this);
            try {
                p.launch();
            } catch (IOException | RuntimeException e) {
                p.close();
                throw e;
            }
            return p;
        }
    }

    public static Builder builder(Path jar) {
        return new Builder(jar);
    }

    /** The jar named by system property {@code runnerJar} (set by the failsafe config). */
    public static Builder fromSystemProperty() {
        String jar = System.getProperty("runnerJar");
        if (jar == null || jar.isEmpty()) {
            throw new IllegalStateException("system property runnerJar is not set");
        }
        return builder(Paths.get(jar));
    }

    private RunnerProcess(Builder config) throws IOException {
        this.config = config;
        this.dir = Files.createTempDirectory(Paths.get("/tmp"), "apisix-sim-");
        this.socket = config.socket != null ? config.socket : dir.resolve("runner.sock");
        this.logFile = dir.resolve("runner.log");
    }

    private void launch() throws IOException {
        List<String> cmd = new ArrayList<>();
        if (config.command.isEmpty()) {
            cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
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
        awaitSocket();
    }

    private void awaitSocket() throws IOException {
        long deadline = System.nanoTime() + config.startTimeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("runner exited with code " + process.exitValue()
                        + " before listening on " + socket + "; output:\n" + logs());
            }
            if (Files.exists(socket)) {
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

    /** SIGTERM and wait (up to {@code timeout}); returns the exit code, or -1 if still alive. */
    public int stop(Duration timeout) {
        if (process == null) {
            return -1;
        }
        process.destroy();
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
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
            Files.deleteIfExists(socket);
            if (System.getenv("APISIX_SIM_KEEP_LOGS") == null) {
                Files.deleteIfExists(logFile);
                Files.deleteIfExists(dir);
            }
        } catch (IOException ignored) {
            // best effort (a custom socket path may live elsewhere)
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
