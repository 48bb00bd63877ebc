package io.github.apisixsession.simulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The runner's time under a test's control: the file that the runner's test-only switch
 * ({@code -Dapisix.session.testOnly.clockFile}, see the plugin's {@code RunnerClock}) reads its
 * clock from. The runner's time stands still at {@link #now()} until the test moves it with
 * {@link #advance}, so timeouts are checked at exact instants instead of after real waits.
 *
 * <pre>{@code
 * try (ClockFile clock = ClockFile.create();
 *      RunnerProcess runner = RunnerProcess.fromSystemProperty().clock(clock).start()) {
 *     … log in …
 *     clock.advance(Duration.ofSeconds(5)); // the runner is now 5 s later
 * }
 * }</pre>
 *
 * <p>The file lives alone in a fresh directory only this user may write (the runner refuses
 * anything else) and is replaced atomically, so the runner never reads half an instant.
 */
public final class ClockFile implements AutoCloseable {

    /** The runner's test-only system property (RunnerClock.PROPERTY in the plugin). */
    public static final String PROPERTY = "apisix.session.testOnly.clockFile";

    private final Path dir;
    private final Path file;
    private Instant now;

    private ClockFile(Path dir, Instant start) throws IOException {
        this.dir = dir;
        this.file = dir.resolve("clock");
        set(start);
    }

    /** Starts at the current second, rounded down (cookie times are whole seconds). */
    public static ClockFile create() {
        return startingAt(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    }

    public static ClockFile startingAt(Instant start) {
        try {
            return new ClockFile(Files.createTempDirectory("runner-clock-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))), start);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The instant the runner shows. */
    public synchronized Instant now() {
        return now;
    }

    /** Moves the runner's time forward by {@code d}; returns the new instant. */
    public synchronized Instant advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("the runner's clock never goes back: " + d);
        }
        try {
            set(now.plus(d));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return now;
    }

    /** Moves the runner's time forward to {@code t} (not earlier than now). */
    public synchronized Instant advanceTo(Instant t) {
        return advance(Duration.between(now, t));
    }

    private void set(Instant t) throws IOException {
        Path next = Files.writeString(dir.resolve("clock.next"), t.toString(), StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(next, PosixFilePermissions.fromString("rw-------"));
        Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        now = t;
    }

    public Path file() {
        return file;
    }

    /** The JVM argument that points a runner at this file. */
    public String jvmArg() {
        return "-D" + PROPERTY + "=" + file.toAbsolutePath();
    }

    @Override
    public void close() {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind is harmless
        }
    }
}
