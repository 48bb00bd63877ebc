package io.github.apisixsession.apisix;

import io.github.apisixsession.storage.cache.ClientCacheMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;
import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * The storages' client caches ({@code client_cache} of Redis and PostgreSQL, or any storage that
 * publishes a {@link ClientCacheMXBean}) on the metrics endpoint: read from the platform MBean
 * server at each scrape, so the storage SPI needs no method for it and a closed storage's cache
 * disappears with its bean; a cache never read (a store used only for shared state) is left out.
 * Labels: {@code cache} ({@code redis}, {@code postgres}), {@code id} and {@code storage} (address
 * and prefix or table, no credentials).
 */
final class ClientCacheMetrics {

    private static final ObjectName ALL;

    static {
        try {
            ALL = new ObjectName("io.github.apisixsession:*");
        } catch (MalformedObjectNameException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private record Cache(String labels, ClientCacheMXBean bean) {
    }

    private record Counter(String name, String type, String help, ToLongFunction<ClientCacheMXBean> value) {
    }

    private static final List<Counter> SERIES = List.of(
            new Counter("apisix_session_storage_cache_hits_total", "counter", "Session reads answered from the runner's memory",
                    ClientCacheMXBean::getHits),
            new Counter("apisix_session_storage_cache_misses_total", "counter",
                    "Session reads sent to the store and kept", ClientCacheMXBean::getMisses),
            new Counter("apisix_session_storage_cache_bypassed_total", "counter",
                    "Session reads sent to the store while its change messages were not received (not kept)",
                    ClientCacheMXBean::getBypassed),
            new Counter("apisix_session_storage_cache_invalidations_total", "counter",
                    "Keys the store said changed", ClientCacheMXBean::getInvalidations),
            new Counter("apisix_session_storage_cache_resets_total", "counter",
                    "Times the whole cache was dropped (change messages lost, topology changed)",
                    ClientCacheMXBean::getResets),
            new Counter("apisix_session_storage_cache_entries", "gauge", "Entries held now",
                    ClientCacheMXBean::getEntries),
            new Counter("apisix_session_storage_cache_bytes", "gauge", "Estimated size of the entries held, in bytes",
                    ClientCacheMXBean::getWeightedBytes),
            new Counter("apisix_session_storage_cache_tracking", "gauge",
                    "1 while the store's change messages are received (entries may be served), else 0",
                    b -> b.isTracking() ? 1 : 0));

    private ClientCacheMetrics() {
    }

    /** Appends every published cache's series; nothing when no storage caches. */
    static void render(StringBuilder b) {
        List<Cache> caches = caches(ManagementFactory.getPlatformMBeanServer());
        if (caches.isEmpty()) {
            return;
        }
        for (Counter c : SERIES) {
            b.append("# HELP ").append(c.name()).append(' ').append(c.help()).append('\n');
            b.append("# TYPE ").append(c.name()).append(' ').append(c.type()).append('\n');
            for (Cache cache : caches) {
                long value;
                try {
                    value = c.value().applyAsLong(cache.bean());
                } catch (RuntimeException e) {
                    continue; // closed between the query and now
                }
                b.append(c.name()).append('{').append(cache.labels()).append("} ").append(value).append('\n');
            }
        }
    }

    private static List<Cache> caches(MBeanServer server) {
        List<ObjectName> names = new ArrayList<>();
        for (ObjectName n : server.queryNames(ALL, null)) {
            String type = n.getKeyProperty("type");
            if (type != null && type.endsWith("ClientCache") && n.getKeyProperty("id") != null) {
                names.add(n);
            }
        }
        names.sort(Comparator.comparing(ObjectName::getCanonicalName));
        List<Cache> caches = new ArrayList<>();
        for (ObjectName n : names) {
            ClientCacheMXBean bean = JMX.newMXBeanProxy(server, n, ClientCacheMXBean.class);
            String storage;
            try {
                if (bean.getHits() + bean.getMisses() + bean.getBypassed() == 0) {
                    // never read: a store used only for shared_state has a cache that never tracks
                    continue;
                }
                storage = bean.getStorage();
            } catch (RuntimeException e) {
                continue; // unregistered meanwhile
            }
            String kind = n.getKeyProperty("type");
            kind = kind.substring(0, kind.length() - "ClientCache".length()).toLowerCase(Locale.ROOT);
            caches.add(new Cache("cache=\"" + escape(kind) + "\",id=\"" + escape(n.getKeyProperty("id"))
                    + "\",storage=\"" + escape(storage) + "\"", bean));
        }
        return caches;
    }

    /** A label value as the text format wants it. */
    static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
