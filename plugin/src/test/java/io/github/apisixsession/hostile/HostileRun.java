package io.github.apisixsession.hostile;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Draws from a seeded generator for {@code -Dhostile.tries} inputs (default 5,000) with a fixed seed
 * ({@code -Dhostile.seed}), counting accepted forgeries, genuine inputs refused and unexpected
 * exceptions; any of them fails the run. The counts of every run are printed as one
 * {@code HOSTILE} line, which docs/security.md quotes.
 */
final class HostileRun {

    static final int TRIES = Integer.getInteger("hostile.tries", 5_000);
    static final long SEED = Long.getLong("hostile.seed", 20261122L);

    /** The outcome of one input. */
    enum Outcome {
        REJECTED, ACCEPTED_SAME, FORGERY,
        /** The client sent the real cookie unchanged and was refused: an engine refusing everything. */
        GENUINE_REFUSED;

        /** The oracle of the forgery properties: what opened must be genuine, and what is genuine must open. */
        static Outcome of(boolean opened, boolean genuine) {
            if (opened) {
                return genuine ? ACCEPTED_SAME : FORGERY;
            }
            return genuine ? GENUINE_REFUSED : REJECTED;
        }
    }

    /** A generator of hostile inputs. */
    interface Gen<T> {
        T next(Random r);
    }

    interface Check<T> {
        Outcome apply(T input) throws Exception;
    }

    private HostileRun() {
    }

    static <T> void run(String name, Gen<T> gen, Check<T> check) {
        run(name, TRIES, gen, check);
    }

    static <T> void run(String name, int tries, Gen<T> gen, Check<T> check) {
        Random random = new Random(SEED ^ name.hashCode());
        long forgeries = 0;
        long exceptions = 0;
        long accepted = 0;
        long refusedGenuine = 0;
        List<String> examples = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < tries; i++) {
            T input = gen.next(random);
            try {
                Outcome o = check.apply(input);
                if (o == Outcome.FORGERY) {
                    forgeries++;
                    if (examples.size() < 3) {
                        examples.add("forgery #" + i + ": " + abbreviate(String.valueOf(input)));
                    }
                } else if (o == Outcome.GENUINE_REFUSED) {
                    refusedGenuine++;
                    if (examples.size() < 3) {
                        examples.add("genuine refused #" + i + ": " + abbreviate(String.valueOf(input)));
                    }
                } else if (o == Outcome.ACCEPTED_SAME) {
                    accepted++;
                }
            } catch (Exception | Error e) {
                exceptions++;
                if (examples.size() < 3) {
                    examples.add("exception #" + i + " " + e + " on " + abbreviate(String.valueOf(input)));
                }
            }
        }
        System.out.printf("HOSTILE %s inputs=%d forgeries=%d exceptions=%d accepted-unchanged=%d genuine-refused=%d ms=%d%n",
                name, tries, forgeries, exceptions, accepted, refusedGenuine, (System.nanoTime() - t0) / 1_000_000);
        if (forgeries + exceptions + refusedGenuine > 0) {
            fail(name + ": " + forgeries + " forgeries, " + refusedGenuine + " genuine inputs refused, " + exceptions
                    + " exceptions in " + tries + " inputs (seed " + SEED + "): " + examples);
        }
    }

    static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "…(" + s.length() + " chars)";
    }
}
