package io.github.apisixsession.apisix;

import com.github.benmanes.caffeine.cache.Ticker;
import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clock the runner process follows: session times, storages that count time themselves
 * (memory) and conf-token expiry. The system clock, unless the JVM was started with the
 * test-only switch {@value #PROPERTY}{@code =/abs/path}: then a {@link FileClock} on that file,
 * which end-to-end tests rewrite to move the runner's time instead of sleeping.
 *
 * <p>The switch is a system property, so only whoever writes the runner's command line can turn
 * it on, and that person can already run any code as the runner. The runner refuses to start
 * unless the file is a regular file owned by its own user, in a directory owned by its own user,
 * neither writable by group or others, so no other local user can move its time; it logs a
 * warning at start while the switch is on. See docs/security.md.
 */
public final class RunnerClock {

    /** The test-only system property naming the clock file. */
    public static final String PROPERTY = "apisix.session.testOnly.clockFile";

    private static final Logger LOG = LoggerFactory.getLogger(RunnerClock.class);
    private static Clock configured;

    private RunnerClock() {
    }

    /**
     * This process's clock, from the system properties on first use (the session plugin is built
     * by {@link java.util.ServiceLoader} and cannot be handed one).
     *
     * @throws IllegalArgumentException when the switch is on and its file is unusable or unsafe
     */
    public static synchronized Clock get() {
        if (configured == null) {
            configured = of(System.getProperty(PROPERTY));
        }
        return configured;
    }

    /** The system clock for null, otherwise the checked file clock (and the start-up warning). */
    static Clock of(String clockFile) {
        if (clockFile == null) {
            return Clock.systemUTC();
        }
        Path file = Path.of(clockFile);
        String unsafe = unsafe(file, new UnixSystem().getUid());
        if (unsafe != null) {
            throw new IllegalArgumentException(PROPERTY + " " + file + ": " + unsafe);
        }
        FileClock clock = FileClock.open(file);
        LOG.warn("TEST-ONLY CLOCK: session times, storage expiry and conf tokens follow {} (-D{}), now {}, "
                + "not the system clock. Never use this outside tests.", file, PROPERTY, clock.instant());
        return clock;
    }

    /** Why the file may not drive the clock of a process running as {@code uid}, or null. */
    static String unsafe(Path file, long uid) {
        if (!file.isAbsolute()) {
            return "not an absolute path";
        }
        try {
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                return "not a regular file (links are refused)";
            }
            String f = ownedAndNotShared(file, uid, "the file");
            return f != null ? f : ownedAndNotShared(file.getParent(), uid, "its directory");
        } catch (IOException | UnsupportedOperationException e) {
            return "cannot check its owner and permissions: " + e;
        }
    }

    private static String ownedAndNotShared(Path path, long uid, String what) throws IOException {
        PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        long owner = ((Number) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        if (owner != uid) {
            return what + " belongs to uid " + owner + ", not to this process's uid " + uid;
        }
        if (a.permissions().contains(PosixFilePermission.GROUP_WRITE)
                || a.permissions().contains(PosixFilePermission.OTHERS_WRITE)) {
            return what + " is writable by group or others";
        }
        return null;
    }

    /**
     * The conf cache's ticker: the monotonic system ticker, or the file clock's time, so a test
     * that moves the runner an hour on sees conf tokens expire as a real hour would.
     */
    static Ticker confTicker(Clock clock) {
        if (clock instanceof FileClock) {
            return () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
        }
        return Ticker.systemTicker();
    }
}
