package io.github.apisixsession.benchmarks;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.memory.MemorySessionStorageProvider;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How much heap the memory storage needs per live session: logs {@code --sessions} consumers in
 * through the engine (so every entry is exactly what a login stores: key, sealed value, expiry)
 * and prints the heap used after a full GC, before and after. Run it under the heap the runner
 * would get:
 *
 * <pre>
 * java -Xmx512m -cp benchmarks/target/benchmarks.jar io.github.apisixsession.benchmarks.MemoryFill
 * </pre>
 */
public final class MemoryFill {

    private MemoryFill() {
    }

    public static void main(String[] args) throws Exception {
        int sessions = 1_000_000;
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--sessions")) {
                sessions = Integer.parseInt(args[i + 1]);
            } else {
                System.err.println("usage: MemoryFill [--sessions N]");
                System.exit(2);
            }
        }
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        StorageContext context = new StorageContext(clock, name -> null);
        SessionStorages storages = new SessionStorages(List.of(new MemorySessionStorageProvider()), context);
        SessionEngine engine = new SessionEngine(clock, storages);
        SessionRoute route = engine.prepare(new SessionConfigParser(context.environment(), Set.of("memory"), "p")
                .parse("{\"secret\": \"" + Target.SECRET + "\", \"storage\": \"memory\", "
                        + "\"memory\": {\"max_entries\": " + Math.max(sessions, 1) + "}, \"anonymous_consumer\": \"anon\"}"));
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long before = usedAfterGc(memory);
        long start = System.nanoTime();
        int cookieLength = 0;
        for (int i = 0; i < sessions; i++) {
            RequestDecision d = engine.onRequest(route, new BenchRequest("GET", null, List.of(),
                    Map.of("consumer_name", String.format(Locale.ROOT, "user-%07d", i))));
            if (i == 0 && d instanceof RequestDecision.Proceed p) {
                for (HttpHeader h : p.responseHeaders()) {
                    if (h.is("Set-Cookie")) {
                        cookieLength = h.value().indexOf(';');
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long after = usedAfterGc(memory);
        // the same config gives the same shared storage instance the route uses
        SessionStorages.Lease lease = storages.lease("memory", route.config().storageConfig());
        long size = ((io.github.apisixsession.storage.memory.MemorySessionStorage) lease.storage()).size();
        lease.release();
        System.out.printf(Locale.ROOT, "max heap %d MB; %d logins in %.1f s (%.1f µs each); %d entries stored "
                        + "(cookie %d chars)%n", Runtime.getRuntime().maxMemory() >> 20, sessions, seconds,
                seconds * 1e6 / sessions, size, cookieLength);
        System.out.printf(Locale.ROOT, "heap used after GC: %.1f MB before, %.1f MB after: %.1f MB for the "
                        + "sessions, %.0f bytes per session%n", before / 1048576.0, after / 1048576.0,
                (after - before) / 1048576.0, (after - before) / (double) Math.max(1, size));
        engine.close();
    }

    private static long usedAfterGc(MemoryMXBean memory) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
