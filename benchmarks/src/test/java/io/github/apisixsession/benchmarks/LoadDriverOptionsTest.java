package io.github.apisixsession.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LoadDriverOptionsTest {

    @Test
    void storagesSplitBetweenItemsNotInsideTheirJson() {
        assertEquals(List.of("noop-var", "cookie", "memory",
                        "redis=\"storage\": \"redis\", \"redis\": {\"host\": \"127.0.0.1\", \"port\": 6379}",
                        "pg=\"storage\": \"postgres\""),
                LoadDriver.splitList("noop-var, cookie,memory,redis=\"storage\": \"redis\", \"redis\": "
                        + "{\"host\": \"127.0.0.1\", \"port\": 6379},pg=\"storage\": \"postgres\""));
    }
}
