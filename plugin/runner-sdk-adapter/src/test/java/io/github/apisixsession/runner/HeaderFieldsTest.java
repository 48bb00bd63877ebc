package io.github.apisixsession.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.apisixsession.core.HttpHeader;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class HeaderFieldsTest {

    @Test
    void repeatedNamesGetDistinctSpellingsThatAreTheSameNameForHttp() {
        Map<String, String> runnerMap = new HashMap<>();
        List<HttpHeader> headers = List.of(new HttpHeader("Set-Cookie", "a=1"), new HttpHeader("Set-Cookie", "b=2"),
                new HttpHeader("set-cookie", "c=3"), new HttpHeader("Content-Type", "application/json"),
                new HttpHeader("Set-Cookie", "d=4"));
        assertEquals(0, HeaderFields.write(headers, runnerMap::put));
        assertEquals(5, runnerMap.size());
        assertEquals(Set.of("a=1", "b=2", "c=3", "d=4"), runnerMap.entrySet().stream()
                .filter(e -> e.getKey().toLowerCase(Locale.ROOT).equals("set-cookie"))
                .map(Map.Entry::getValue).collect(Collectors.toSet()));
        assertEquals("Set-Cookie", runnerMap.keySet().stream().filter(k -> runnerMap.get(k).equals("a=1"))
                .findFirst().orElseThrow(), "the first keeps its spelling");
        assertEquals("application/json", runnerMap.get("Content-Type"));
    }

    @Test
    void setCookieHas512Spellings() {
        Set<String> used = new HashSet<>();
        for (int i = 0; i < 512; i++) {
            String s = HeaderFields.spelling("Set-Cookie", used);
            assertEquals("set-cookie", s.toLowerCase(Locale.ROOT));
            used.add(s);
        }
        assertEquals(512, used.size());
        assertNull(HeaderFields.spelling("Set-Cookie", used));
    }

    @Test
    void nullValuesAreSentEmpty() {
        Map<String, String> runnerMap = new HashMap<>();
        HeaderFields.write(List.of(new HttpHeader("X-Empty", null)), runnerMap::put);
        assertEquals("", runnerMap.get("X-Empty"));
    }
}
