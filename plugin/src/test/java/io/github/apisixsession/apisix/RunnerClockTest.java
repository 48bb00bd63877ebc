package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import com.sun.security.auth.module.UnixSystem;
import io.github.apisixsession.simulator.ClockFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The test-only clock switch: what it refuses, and that the runner's time follows the file. */
class RunnerClockTest {

    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    private static final long UID = new UnixSystem().getUid();

    private final ClockFile file = ClockFile.startingAt(T0);

    @AfterEach
    void delete() {
        file.close();
    }

    @Test
    void withoutTheSwitchItIsTheSystemClock() {
        assertEquals(Clock.systemUTC(), RunnerClock.of(null));
        assertSame(Ticker.systemTicker(), RunnerClock.confTicker(Clock.systemUTC()));
        assertEquals(ClockFile.PROPERTY, RunnerClock.PROPERTY, "the simulator and the runner name the same switch");
    }

    @Test
    void theClockStandsStillAtTheFilesInstantAndMovesWithIt() {
        Clock clock = RunnerClock.of(file.file().toString());
        assertInstanceOf(FileClock.class, clock);
        assertEquals(T0, clock.instant());
        assertEquals(T0, clock.instant(), "no time passes by itself");
        file.advance(Duration.ofMillis(4100));
        assertEquals(T0.plusMillis(4100), clock.instant());
        assertEquals(T0.plusMillis(4100), clock.withZone(java.time.ZoneId.of("Europe/Paris")).instant());
    }

    @Test
    void confTokensAgeOnTheSameClock() {
        Clock clock = RunnerClock.of(file.file().toString());
        Ticker ticker = RunnerClock.confTicker(clock);
        long before = ticker.read();
        file.advance(Duration.ofSeconds(3600));
        assertEquals(Duration.ofSeconds(3600).toNanos(), ticker.read() - before);
    }

    @Test
    void itNeverGoesBackAndKeepsItsTimeWhenTheFileBreaks() throws Exception {
        Clock clock = RunnerClock.of(file.file().toString());
        file.advance(Duration.ofSeconds(10));
        assertEquals(T0.plusSeconds(10), clock.instant());
        Files.writeString(file.file(), T0.toString());
        assertEquals(T0.plusSeconds(10), clock.instant(), "an earlier instant is ignored");
        Files.writeString(file.file(), "soon");
        assertEquals(T0.plusSeconds(10), clock.instant(), "garbage is ignored");
        Files.delete(file.file());
        assertEquals(T0.plusSeconds(10), clock.instant(), "a missing file is ignored");
    }

    @Test
    void aFileOthersCouldWriteOrThatIsNotTheRunnersIsRefused() throws Exception {
        Path f = file.file();
        assertNull(RunnerClock.unsafe(f, UID), "the simulator's file is safe");
        assertTrue(RunnerClock.unsafe(Path.of("clock"), UID).contains("not an absolute path"));
        assertTrue(RunnerClock.unsafe(f, UID + 1).contains("the file belongs to uid " + UID + ", not to this process's uid"));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw----"));
        assertTrue(RunnerClock.unsafe(f, UID).contains("the file is writable by group or others"));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(f.getParent(), PosixFilePermissions.fromString("rwxrwxrwx"));
        assertTrue(RunnerClock.unsafe(f, UID).contains("its directory is writable by group or others"));
        Files.setPosixFilePermissions(f.getParent(), PosixFilePermissions.fromString("rwx------"));
        Path link = Files.createSymbolicLink(f.resolveSibling("link"), f);
        assertTrue(RunnerClock.unsafe(link, UID).contains("not a regular file"), RunnerClock.unsafe(link, UID));
        assertTrue(RunnerClock.unsafe(f.resolveSibling("missing"), UID).contains("cannot check"));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunnerClock.of(link.toString()));
        assertTrue(e.getMessage().startsWith(RunnerClock.PROPERTY + " " + link + ": "), e.getMessage());
        Files.writeString(f, "not an instant");
        e = assertThrows(IllegalArgumentException.class, () -> RunnerClock.of(f.toString()));
        assertTrue(e.getMessage().contains("cannot read an instant"), e.getMessage());
    }
}
