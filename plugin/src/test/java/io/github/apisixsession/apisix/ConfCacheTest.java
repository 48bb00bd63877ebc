package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConfCacheTest {

    private static final HostSettings SETTINGS = HostSettings.of(Path.of("/nonexistent/test.sock"));
    private static final PluginChain CHAIN = new PluginChain(List.of());

    private static ConfCache.ConfSource source(int i) {
        return new ConfCache.ConfSource("route#" + i + "#ext-plugin-pre-req#1", List.of(new ConfCache.Entry("noop", "")));
    }

    /** A counter let any process allowed on the socket use another route's conf by guessing its token. */
    @Test
    void tokensAreNotAGuessableSequence() {
        ConfCache cache = new ConfCache(SETTINGS);
        long previous = cache.register(source(0), CHAIN);
        int successors = 0;
        long highBitSet = 0;
        Set<Long> seen = new HashSet<>();
        for (int i = 1; i <= 2000; i++) {
            long token = cache.register(source(i), CHAIN);
            assertTrue(token > 0 && token <= 0xFFFF_FFFFL, "a non-zero uint32: " + token);
            assertTrue(seen.add(token), "never handed out twice");
            successors += token == previous + 1 ? 1 : 0;
            highBitSet += token >>> 31;
            previous = token;
        }
        assertTrue(successors < 2, "tokens follow each other: " + successors + " of 2000");
        // uniform over 32 bits: about half have the top bit (2000 draws: 1000 ± 4.5 sigma)
        assertTrue(highBitSet > 900 && highBitSet < 1100, "top bit set in " + highBitSet + " of 2000");
    }

    @Test
    void aDrawnTokenThatIsZeroOrLiveIsDrawnAgain() {
        Queue<Integer> draws = new ArrayDeque<>(List.of(0, 7, 7, 0, 7, 9));
        Random rigged = new Random() {
            private static final long serialVersionUID = 1L;

            @Override
            public int nextInt() {
                return draws.remove();
            }
        };
        ConfCache cache = new ConfCache(SETTINGS, rigged);
        assertEquals(7, cache.register(source(1), CHAIN));
        assertEquals(9, cache.register(source(2), CHAIN), "7 is live: drawn again, never reused");
    }

    @Test
    void adoptedTokensNameTheSameChainAndLiveOnesAreExported() {
        ConfCache cache = new ConfCache(SETTINGS);
        long own = cache.register(source(1), CHAIN);
        long theirs = own == 5 ? 6 : 5;
        assertTrue(cache.adopt(theirs, own));
        assertSame(CHAIN, cache.lookup(theirs));
        assertFalse(cache.adopt(theirs, own), "a live token is not taken twice");
        assertFalse(cache.adopt(0, own), "0 is never a token");
        assertFalse(cache.adopt(12345, own == 1 ? 2 : 1), "the own token must exist");
        Set<Long> live = new HashSet<>();
        cache.live().forEach(l -> live.add(l.token()));
        assertEquals(Set.of(own, theirs), live);
        assertNotEquals(null, cache.live().get(0).source());
    }
}
