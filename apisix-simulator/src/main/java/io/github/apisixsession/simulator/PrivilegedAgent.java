package io.github.apisixsession.simulator;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * APISIX's privileged agent running {@code ext-plugin.cmd}, as {@code apisix/plugins/ext-plugin/init.lua}
 * does it: {@code setup_runner} spawns the runner ({@code ngx_pipe.spawn}, without waiting for its
 * socket) and, when it exits while the agent is not exiting, posts {@code runner_exit} (every
 * worker flushes its conf tokens), sleeps 3 s and spawns it again; {@code exit_worker} sends the
 * runner SIGTERM, waits for it one second ({@code core.os.waitpid(pid, 1)}) and leaves the rest
 * to the gc finalizer of the pipe, which kills it.
 *
 * <p>{@link #reload()} is {@code apisix reload}: the nginx master forks the new workers and the new
 * agent, whose {@code init_worker} spawns a new runner on the same socket path at once, sleeps
 * 100 ms ("allow new processes to start", ngx_process_cycle.c) and tells the old processes to quit,
 * so the old agent's {@code exit_worker} signals the old runner while the new one is still starting.
 */
public final class PrivilegedAgent implements AutoCloseable {

    /** {@code core.utils.sleep(3)} before a respawn. */
    public static final Duration RESPAWN_DELAY = Duration.ofSeconds(3);
    /** {@code core.os.waitpid(pid, 1)} in {@code exit_worker}. */
    public static final Duration EXIT_WAIT = Duration.ofSeconds(1);
    /** The master's {@code ngx_msleep(100)} between starting the new processes and stopping the old. */
    public static final Duration RELOAD_PAUSE = Duration.ofMillis(100);

    private final RunnerProcess.Builder cmd;
    private final List<SimulatedApisix> workers;
    private final Thread monitor;
    private final List<RunnerProcess> spawned = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile RunnerProcess runner;
    private volatile boolean exiting;
    private volatile int spawns;

    private PrivilegedAgent(RunnerProcess.Builder cmd, List<SimulatedApisix> workers) throws IOException {
        this.cmd = cmd;
        this.workers = List.copyOf(workers);
        this.runner = cmd.spawn();
        this.spawned.add(runner);
        this.spawns = 1;
        this.monitor = new Thread(this::superviseRunner, "sim-privileged-agent");
        this.monitor.setDaemon(true);
        this.monitor.start();
    }

    /** The agent of a freshly started APISIX (its workers are {@code workers}): spawns the runner. */
    public static PrivilegedAgent start(RunnerProcess.Builder cmd, List<SimulatedApisix> workers) throws IOException {
        return new PrivilegedAgent(cmd, workers);
    }

    /** The runner spawned last. */
    public RunnerProcess runner() {
        return runner;
    }

    /** How many runners this agent spawned (1 plus its respawns). */
    public int spawns() {
        return spawns;
    }

    /** Every runner this agent spawned, for their logs and their clean-up ({@link RunnerProcess#close()}). */
    public List<RunnerProcess> spawned() {
        return List.copyOf(spawned);
    }

    private void superviseRunner() {
        while (!exiting) {
            RunnerProcess current = runner;
            try {
                current.process().waitFor();
            } catch (InterruptedException e) {
                return;
            }
            if (exiting) {
                return;
            }
            workers.forEach(SimulatedApisix::flushTokens); // events: runner_exit
            try {
                TimeUnit.MILLISECONDS.sleep(RESPAWN_DELAY.toMillis());
                if (exiting) {
                    return;
                }
                runner = cmd.spawn();
                spawned.add(runner);
                spawns++;
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                throw new IllegalStateException("respawn failed", e);
            }
        }
    }

    /**
     * {@code apisix reload}: a new agent spawns a new runner on the same socket path, then this
     * agent's {@code exit_worker} runs ({@link #close()}). Returns the new agent.
     */
    public PrivilegedAgent reload() throws IOException {
        PrivilegedAgent next = new PrivilegedAgent(cmd, workers);
        try {
            TimeUnit.MILLISECONDS.sleep(RELOAD_PAUSE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
        return next;
    }

    /**
     * {@code exit_worker}: SIGTERM, wait up to one second, then SIGKILL if the runner still runs
     * (the pipe's gc finalizer when the agent process ends).
     */
    @Override
    public void close() {
        exiting = true;
        monitor.interrupt();
        RunnerProcess current = runner;
        if (current != null && current.isAlive()) {
            current.terminate();
            if (current.awaitExit(EXIT_WAIT) < 0) {
                current.kill();
            }
        }
    }
}
