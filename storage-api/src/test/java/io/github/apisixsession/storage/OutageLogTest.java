package io.github.apisixsession.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.apisixsession.storage.contract.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class OutageLogTest {

    private static final String SUBJECT = "redis storage (127.0.0.1:6379)";
    private static final String TIMEOUT = "SocketTimeoutException: Read timed out";

    private final MutableClock clock = new MutableClock();
    private final List<String> lines = new ArrayList<>();
    private final OutageLog log = new OutageLog(SUBJECT, clock, Duration.ofSeconds(10),
            OutageLog.Sink.of(l -> lines.add("WARN " + l), l -> lines.add("INFO " + l)));

    @Test
    void tenThousandFailuresOfOneCauseLogAFewLinesWithTheRightCounts() {
        // 10,000 failures over 30 s (one every 3 ms), then a success
        for (int i = 0; i < 10_000; i++) {
            log.failure(TIMEOUT);
            clock.advance(Duration.ofMillis(3));
        }
        log.success();

        assertEquals("WARN " + SUBJECT + " failing: " + TIMEOUT, lines.get(0));
        // the first line, one summary per 10 s, the recovery
        assertTrue(lines.size() <= 5, lines.toString());
        long counted = 1;
        Pattern summary = Pattern.compile("WARN " + Pattern.quote(SUBJECT)
                + " still failing: ([0-9,]+) failures in ([0-9.]+) s: " + Pattern.quote(TIMEOUT));
        for (String line : lines.subList(1, lines.size() - 1)) {
            Matcher m = summary.matcher(line);
            assertTrue(m.matches(), line);
            counted += Long.parseLong(m.group(1).replace(",", ""));
            assertTrue(Double.parseDouble(m.group(2)) >= 10, line);
        }
        // summaries at 10 s and 20 s; the failures after the last one are only in the recovery's total
        assertEquals(4, lines.size(), lines.toString());
        // failures at 0, 3, … ms: the summaries come with the failures at 10,002 and 20,004 ms
        assertEquals(1 + 3_334 + 3_334, counted, "summarised");
        assertEquals("INFO " + SUBJECT + " reachable again: recovered after 10000 failures in 30 s", lines.get(lines.size() - 1));
        assertFalse(log.failing());
    }

    @Test
    void summaryShowsThousandsSeparatorsAndTheCount() {
        log.failure(TIMEOUT);
        for (int i = 0; i < 1_234; i++) {
            log.failure(TIMEOUT);
        }
        clock.advance(Duration.ofSeconds(10));
        log.failure(TIMEOUT);
        assertEquals(List.of("WARN " + SUBJECT + " failing: " + TIMEOUT,
                "WARN " + SUBJECT + " still failing: 1,235 failures in 10 s: " + TIMEOUT), lines);
    }

    @Test
    void aDifferentCauseIsLoggedAtOnceButNotForever() {
        log.failure(TIMEOUT);
        log.failure("ConnectException: Connection refused");
        assertEquals("WARN " + SUBJECT + " failing: ConnectException: Connection refused", lines.get(1));
        log.failure("ConnectException: Connection refused"); // a repeat: counted
        assertEquals(2, lines.size());
        // causes that differ every time (an id in them) are logged a few times per interval, then counted
        for (int i = 0; i < 1_000; i++) {
            log.failure("cause " + i);
        }
        assertEquals(2 + OutageLog.NEW_CAUSE_LINES - 1, lines.size(), lines.toString());
        clock.advance(Duration.ofSeconds(11));
        log.failure(TIMEOUT);
        // one line per tracked cause, the rest summed up in one more
        List<String> summaries = lines.subList(2 + OutageLog.NEW_CAUSE_LINES - 1, lines.size());
        assertEquals(OutageLog.TRACKED_CAUSES + 1, summaries.size(), summaries.toString());
        assertTrue(summaries.get(summaries.size() - 1).endsWith(": " + OutageLog.OTHER_CAUSES), summaries.toString());
    }

    @Test
    void recoveryIsLoggedOnceAndANewOutageStartsAfresh() {
        log.success();
        assertTrue(lines.isEmpty(), "no outage, no line");
        log.failure(TIMEOUT);
        clock.advance(Duration.ofMillis(2_500));
        log.failure(TIMEOUT);
        log.success();
        log.success();
        assertEquals(List.of("WARN " + SUBJECT + " failing: " + TIMEOUT,
                "INFO " + SUBJECT + " reachable again: recovered after 2 failures in 2.5 s"), lines);

        log.failure(TIMEOUT);
        log.success();
        assertEquals("WARN " + SUBJECT + " failing: " + TIMEOUT, lines.get(2));
        assertEquals("INFO " + SUBJECT + " reachable again: recovered after 1 failure in 0.0 s", lines.get(3));
    }

    @Test
    void concurrentFailuresAreAllCounted() throws Exception {
        Thread[] threads = new Thread[8];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 1_000; i++) {
                    log.failure(TIMEOUT);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        log.success();
        assertEquals(2, lines.size(), lines.toString());
        assertEquals("INFO " + SUBJECT + " reachable again: recovered after 8000 failures in 0.0 s", lines.get(1));
    }
}
