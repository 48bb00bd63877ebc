package io.github.apisixsession.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.apisixsession.core.HttpHeader;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeferredHeadersTest {

    /** A clock the test moves. */
    static final class MovableClock extends Clock {
        private Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private static final List<HttpHeader> COOKIE = List.of(new HttpHeader("Set-Cookie", "session=x"));

    @Test
    void theResponseHalfTakesWhatTheRequestHalfKeptOnce() {
        DeferredHeaders d = new DeferredHeaders(new MovableClock(), Duration.ofSeconds(120), 10);
        d.put("req-1", COOKIE);
        d.put("req-2", List.of());
        assertEquals(COOKIE, d.take("req-1"));
        assertEquals(List.of(), d.take("req-1"));
        assertEquals(List.of(), d.take("req-2"));
        assertEquals(List.of(), d.take(""));
        assertEquals(0, d.lost());
    }

    @Test
    void headersNobodyTakesAreCountedAsNeverSent() {
        MovableClock clock = new MovableClock();
        DeferredHeaders d = new DeferredHeaders(clock, Duration.ofSeconds(120), 10);
        d.put("req-1", COOKIE);
        d.put("", COOKIE); // no request_id: cannot be tied to a response half at all
        clock.advance(Duration.ofSeconds(121));
        d.cleanUp();
        assertEquals(List.of(), d.take("req-1"));
        assertEquals(2, d.lost());
    }
}
