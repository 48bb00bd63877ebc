package io.github.apisixsession.apisix;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A clock that shows the instant written in a file (ISO-8601, e.g. {@code 2030-01-01T00:00:05Z})
 * and stands still until the file changes: end-to-end tests move the runner's time by rewriting
 * the file instead of sleeping. Only {@link RunnerClock}'s test-only switch creates one.
 *
 * <p>It never goes back (storages and caches assume monotonic time): an earlier instant, or a
 * file that cannot be read or parsed any more, leaves it where it was, with one warning.
 */
final class FileClock extends Clock {

    private static final Logger LOG = LoggerFactory.getLogger(FileClock.class);
    /** Longer than any instant; a bigger file is not one this switch wrote. */
    private static final int MAX_BYTES = 64;

    private final Path file;
    private final AtomicReference<Instant> last;
    private final AtomicBoolean warned;
    private final ZoneId zone;

    private FileClock(Path file, AtomicReference<Instant> last, AtomicBoolean warned, ZoneId zone) {
        this.file = file;
        this.last = last;
        this.warned = warned;
        this.zone = zone;
    }

    /** Reads the file once; a missing, oversized or unparsable file is refused here, at start. */
    static FileClock open(Path file) {
        try {
            return new FileClock(file, new AtomicReference<>(read(file)), new AtomicBoolean(), ZoneOffset.UTC);
        } catch (IOException | DateTimeParseException e) {
            throw new IllegalArgumentException("cannot read an instant from " + file + ": " + e.getMessage(), e);
        }
    }

    Path file() {
        return file;
    }

    @Override
    public Instant instant() {
        Instant now;
        try {
            now = read(file);
        } catch (IOException | DateTimeParseException e) {
            warnOnce("cannot read " + file + " (" + e.getMessage() + "): the test-only clock stays at " + last.get());
            return last.get();
        }
        Instant shown = last.accumulateAndGet(now, (a, b) -> b.isAfter(a) ? b : a);
        if (now.isBefore(shown)) {
            warnOnce(file + " went back to " + now + ": the test-only clock stays at " + shown);
        }
        return shown;
    }

    private void warnOnce(String message) {
        if (warned.compareAndSet(false, true)) {
            LOG.warn(message);
        }
    }

    private static Instant read(Path file) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) {
            throw new IOException("more than " + MAX_BYTES + " bytes: not an instant");
        }
        return Instant.parse(new String(bytes, StandardCharsets.US_ASCII).trim());
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId newZone) {
        return newZone.equals(zone) ? this : new FileClock(file, last, warned, newZone);
    }
}
