package io.github.apisixsession.storage;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.apisixsession.storage.CircuitBreaker.State;
import io.github.apisixsession.storage.contract.MutableClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

    private static final String REFUSED = "ConnectException: Connection refused";

    private final MutableClock clock = new MutableClock();
    private final CircuitBreaker breaker = new CircuitBreaker(new CircuitBreaker.Settings(3, Duration.ofSeconds(1)),
            clock);

    private void fail(int times) throws CircuitOpenException {
        for (int i = 0; i < times; i++) {
            breaker.acquire();
            breaker.failure(REFUSED);
        }
    }

    @Test
    void opensAfterConsecutiveFailuresAndFailsFastWithTheLastCause() throws Exception {
        fail(2);
        assertEquals(State.CLOSED, breaker.state());
        fail(1);
        assertEquals(State.OPEN, breaker.state());
        assertEquals(1, breaker.opened());
        for (int i = 0; i < 1_000; i++) {
            CircuitOpenException e = assertThrows(CircuitOpenException.class, breaker::acquire);
            assertEquals("circuit open: " + REFUSED, e.getMessage());
        }
        assertEquals(State.OPEN, breaker.state());
    }

    @Test
    void aSuccessResetsTheCount() throws Exception {
        fail(2);
        breaker.acquire();
        breaker.success();
        fail(2);
        assertEquals(State.CLOSED, breaker.state());
        assertEquals(0, breaker.opened());
    }

    @Test
    void afterTheCoolDownOneTrialGoesThroughAndItsSuccessCloses() throws Exception {
        fail(3);
        clock.advance(Duration.ofMillis(999));
        assertThrows(CircuitOpenException.class, breaker::acquire);
        clock.advance(Duration.ofMillis(1));
        breaker.acquire(); // the trial
        assertEquals(State.HALF_OPEN, breaker.state());
        // the others keep failing fast while the trial is under way
        assertThrows(CircuitOpenException.class, breaker::acquire);
        breaker.success();
        assertEquals(State.CLOSED, breaker.state());
        assertDoesNotThrow(breaker::acquire);
        assertEquals(1, breaker.opened());
    }

    @Test
    void aFailedTrialOpensAgainForAnotherCoolDown() throws Exception {
        fail(3);
        clock.advance(Duration.ofSeconds(1));
        breaker.acquire();
        clock.advance(Duration.ofMillis(500)); // the trial took a while
        breaker.failure("SocketTimeoutException: Read timed out");
        assertEquals(State.OPEN, breaker.state());
        clock.advance(Duration.ofMillis(999));
        CircuitOpenException e = assertThrows(CircuitOpenException.class, breaker::acquire);
        assertEquals("circuit open: SocketTimeoutException: Read timed out", e.getMessage());
        clock.advance(Duration.ofMillis(1));
        breaker.acquire();
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(1, breaker.opened(), "one outage");
    }

    @Test
    void aTrialThatNeverReportsIsReplacedAfterTheCoolDown() throws Exception {
        fail(3);
        clock.advance(Duration.ofSeconds(1));
        breaker.acquire(); // hangs
        assertThrows(CircuitOpenException.class, breaker::acquire);
        clock.advance(Duration.ofSeconds(1));
        breaker.acquire(); // another trial
        assertEquals(State.HALF_OPEN, breaker.state());
    }

    @Test
    void failuresOfCallsStartedBeforeTheCircuitOpenedDoNotExtendTheCoolDown() throws Exception {
        fail(3);
        clock.advance(Duration.ofMillis(900));
        breaker.failure(REFUSED);
        clock.advance(Duration.ofMillis(100));
        breaker.acquire();
        assertEquals(State.HALF_OPEN, breaker.state());
    }

    @Test
    void offNeverOpens() throws Exception {
        CircuitBreaker off = new CircuitBreaker(CircuitBreaker.Settings.OFF, clock);
        for (int i = 0; i < 100; i++) {
            off.acquire();
            off.failure(REFUSED);
        }
        assertEquals(State.CLOSED, off.state());
        assertEquals(0, off.opened());
    }

    @Test
    void settingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new CircuitBreaker.Settings(-1, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new CircuitBreaker.Settings(5, Duration.ZERO));
    }
}
