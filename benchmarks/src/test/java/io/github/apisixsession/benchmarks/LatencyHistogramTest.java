package io.github.apisixsession.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void emptyHistogramReportsZero() {
        LatencyHistogram h = new LatencyHistogram();
        assertEquals(0, h.count());
        assertEquals(0, h.percentile(99));
        assertEquals(0, h.mean());
    }

    @Test
    void smallValuesAreExact() {
        LatencyHistogram h = new LatencyHistogram();
        for (int v = 1; v <= 100; v++) {
            h.record(v);
        }
        assertEquals(50, h.percentile(50));
        assertEquals(99, h.percentile(99));
        assertEquals(100, h.percentile(100));
        assertEquals(1, h.percentile(0.5));
        assertEquals(50.5, h.mean(), 1e-9);
    }

    @Test
    void bucketsCoverEveryValueWithoutGaps() {
        for (long v = 0; v < 1 << 20; v++) {
            int i = LatencyHistogram.index(v);
            assertTrue(LatencyHistogram.highestIn(i) >= v, "value " + v);
            assertTrue(i == 0 || LatencyHistogram.highestIn(i - 1) < v, "value " + v);
        }
        long big = 90L * 1_000_000_000L; // 90 s
        assertTrue(LatencyHistogram.highestIn(LatencyHistogram.index(big)) >= big);
    }

    @Test
    void percentilesMatchSortedDataWithinOnePercent() {
        SplittableRandom random = new SplittableRandom(42);
        long[] values = new long[100_000];
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < values.length; i++) {
            // log-normal-ish latencies between ~20 µs and a few ms, with a tail
            values[i] = (long) (50_000 * Math.exp(random.nextGaussian()));
            h.record(values[i]);
        }
        Arrays.sort(values);
        for (double p : new double[] {50, 90, 99, 99.9, 100}) {
            long exact = values[(int) Math.ceil(p / 100 * values.length) - 1];
            long got = h.percentile(p);
            assertTrue(got >= exact && got <= exact * 1.01, p + ": exact " + exact + ", got " + got);
        }
        assertEquals(values[values.length - 1], h.max());
    }

    @Test
    void addMergesCountsAndExtremes() {
        LatencyHistogram a = new LatencyHistogram();
        LatencyHistogram b = new LatencyHistogram();
        for (int i = 0; i < 90; i++) {
            a.record(1_000);
        }
        for (int i = 0; i < 10; i++) {
            b.record(1_000_000);
        }
        a.add(b);
        assertEquals(100, a.count());
        assertTrue(Math.abs(a.percentile(90) - 1_000) <= 10);
        assertTrue(Math.abs(a.percentile(91) - 1_000_000) <= 10_000);
        assertEquals(1_000_000, a.max());
        assertEquals(1_000, a.min());
    }

    @Test
    void rejectsPercentilesOutOfRange() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(5);
        assertThrows(IllegalArgumentException.class, () -> h.percentile(0));
        assertThrows(IllegalArgumentException.class, () -> h.percentile(101));
    }
}
