package io.github.apisixsession.storage.cache;

import java.lang.management.ManagementFactory;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.management.JMException;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * Publishes one storage's {@link CoherentCache} counters over JMX as
 * {@code io.github.apisixsession:type=<type>,id=<n>} until the storage is closed, so an operator
 * sees the hit ratio with any JMX client ({@code jconsole}, a Prometheus JMX exporter).
 */
public final class ClientCacheBean implements ClientCacheMXBean, AutoCloseable {

    private static final AtomicInteger IDS = new AtomicInteger();

    private final String storage;
    private final BooleanSupplier tracking;
    private final Supplier<CoherentCache.Counters> counters;
    private final ObjectName name;

    private ClientCacheBean(String type, String storage, BooleanSupplier tracking,
            Supplier<CoherentCache.Counters> counters) {
        this.storage = Objects.requireNonNull(storage, "storage");
        this.tracking = Objects.requireNonNull(tracking, "tracking");
        this.counters = Objects.requireNonNull(counters, "counters");
        this.name = register(type);
    }

    /**
     * @param type     the MBean's type, e.g. {@code RedisClientCache}
     * @param storage  where the storage connects (no credentials)
     * @param tracking whether the cache's change messages are received now
     */
    public static ClientCacheBean publish(String type, String storage, BooleanSupplier tracking,
            Supplier<CoherentCache.Counters> counters) {
        return new ClientCacheBean(type, storage, tracking, counters);
    }

    /** The name it is published under; null when the platform MBean server refused it. */
    public ObjectName name() {
        return name;
    }

    private ObjectName register(String type) {
        try {
            ObjectName n = new ObjectName("io.github.apisixsession:type=" + type + ",id=" + IDS.incrementAndGet());
            ManagementFactory.getPlatformMBeanServer().registerMBean(new StandardMBean(this, ClientCacheMXBean.class, true), n);
            return n;
        } catch (JMException | RuntimeException e) {
            // counters for operators only: the cache works the same without them
            return null;
        }
    }

    @Override
    public void close() {
        if (name != null) {
            try {
                ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
            } catch (JMException | RuntimeException e) {
                // already gone
            }
        }
    }

    @Override
    public String getStorage() {
        return storage;
    }

    @Override
    public boolean isTracking() {
        return tracking.getAsBoolean();
    }

    @Override
    public long getHits() {
        return counters.get().hits();
    }

    @Override
    public long getMisses() {
        return counters.get().misses();
    }

    @Override
    public long getBypassed() {
        return counters.get().bypassed();
    }

    @Override
    public long getInvalidations() {
        return counters.get().invalidations();
    }

    @Override
    public long getResets() {
        return counters.get().resets();
    }

    @Override
    public long getEntries() {
        return counters.get().entries();
    }

    @Override
    public long getWeightedBytes() {
        return counters.get().weightedBytes();
    }
}
