package io.github.apisixsession.storage.memory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Policy;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sessions in this process's heap: a Caffeine cache bounded to {@code maxEntries}, each entry
 * expiring at its own time as read from the context clock.
 *
 * <p>Per-entry cost is kept to the cache node, the key, a copy of the value and one small
 * {@link Entry} (value, absolute expiry, owners): about 450 bytes for a 200-byte session, so a
 * million sessions fit in well under 512 MB. Owners point to shared index buckets instead of
 * holding a per-session {@link SessionMetadata}.
 *
 * <p>The metadata index (audience, subject) → keys is only ever changed inside the cache's atomic
 * operation on the key (our {@code compute}s, and Caffeine's eviction listener, which it runs in
 * the removing operation), so the index and the cache cannot disagree about a key for long, and
 * the index shrinks as entries expire or are evicted.
 */
public final class MemorySessionStorage implements SessionStorage {

    /** Caffeine caps expiry at about 146 years; longer TTLs are clamped rather than overflowing. */
    private static final long MAX_TTL_NANOS = Duration.ofDays(365L * 100).toNanos();

    private final Clock clock;
    private final long maxEntries;
    private final Cache<String, Entry> cache;
    private final Policy<String, Entry> policy;
    private final ConcurrentHashMap<Owner, Bucket> index = new ConcurrentHashMap<>();

    public MemorySessionStorage(long maxEntries, Clock clock) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be at least 1");
        }
        this.clock = Objects.requireNonNull(clock, "clock");
        this.maxEntries = maxEntries;
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxEntries)
                .ticker(this::nanos)
                .expireAfter(new EntryExpiry())
                // eviction and expiry happen on the calling thread: deterministic, and no pool to leak
                .executor(Runnable::run)
                .evictionListener((String key, Entry entry, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (key != null && entry != null) {
                        unindex(key, entry.owners);
                    }
                })
                .build();
        this.policy = cache.policy();
    }

    @Override
    public Optional<byte[]> get(String key) {
        Objects.requireNonNull(key, "key");
        Entry e = cache.getIfPresent(key);
        // a copy, so a caller cannot change what other requests read
        return e == null ? Optional.empty() : Optional.of(e.value.clone());
    }

    @Override
    public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive");
        }
        long now = nanos();
        long expiresAt = now + clampedNanos(ttl);
        byte[] copy = value.clone();
        cache.asMap().compute(key, (k, old) -> {
            if (old != null) {
                unindex(k, old.owners);
            }
            return new Entry(copy, expiresAt, index(k, metadata));
        });
        if (renewal != null && !renewal.oldKey().equals(key)) {
            long staleAt = now + clampedNanos(renewal.staleTtl());
            // only ever shortens: an old entry about to expire anyway keeps its earlier expiry
            cache.asMap().computeIfPresent(renewal.oldKey(),
                    (k, old) -> old.expiresAt > staleAt ? new Entry(old.value, staleAt, old.owners) : old);
        }
    }

    @Override
    public void delete(String key, SessionMetadata metadata) {
        Objects.requireNonNull(key, "key");
        // the entry knows its owners, so the caller's metadata is not needed to clean the index
        cache.asMap().computeIfPresent(key, (k, old) -> {
            unindex(k, old.owners);
            return null;
        });
    }

    @Override
    public boolean supportsMetadata() {
        return true;
    }

    /** The sessions are in this object: closing it would log everyone out. */
    @Override
    public boolean keepsSessionsInProcess() {
        return true;
    }

    @Override
    public Map<String, Instant> sessionsOf(String audience, String subject) {
        Owner owner = new Owner(Objects.requireNonNull(audience, "audience"), Objects.requireNonNull(subject, "subject"));
        List<String> keys = new ArrayList<>();
        // copied under the bucket's lock: HashSet is not safe to iterate while another thread writes
        index.computeIfPresent(owner, (o, bucket) -> {
            keys.addAll(bucket.keys);
            return bucket;
        });
        long now = nanos();
        Map<String, Instant> out = new HashMap<>();
        for (String key : keys) {
            Entry e = policy.getIfPresentQuietly(key);
            if (e != null && e.expiresAt > now && e.ownedBy(owner)) {
                out.put(key, Instant.ofEpochSecond(0, e.expiresAt));
            }
        }
        return Map.copyOf(out);
    }

    /** The bound: beyond it, storing a session evicts another. */
    public long maxEntries() {
        return maxEntries;
    }

    /** Number of entries, including expired ones not yet cleaned up. */
    public long size() {
        return cache.estimatedSize();
    }

    /** Runs pending evictions and expiry now instead of on the next operations. */
    public void cleanUp() {
        cache.cleanUp();
    }

    /** Number of (audience, subject) pairs in the metadata index; shows that it shrinks. */
    public int indexedOwners() {
        return index.size();
    }

    @Override
    public void close() {
        cache.invalidateAll();
        cache.cleanUp();
        index.clear();
    }

    /** Nanoseconds since the epoch, from the context clock, so a test clock drives expiry. */
    private long nanos() {
        Instant now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private static long clampedNanos(Duration d) {
        return d.compareTo(Duration.ofNanos(MAX_TTL_NANOS)) > 0 ? MAX_TTL_NANOS : d.toNanos();
    }

    /** Adds {@code key} to its buckets; returns null, one {@link Owner} or an array, to keep entries small. */
    private Object index(String key, SessionMetadata metadata) {
        if (metadata == null || metadata.entries().isEmpty()) {
            return null;
        }
        List<Owner> owners = new ArrayList<>(metadata.entries().size());
        for (SessionMetadata.Entry m : metadata.entries()) {
            Owner wanted = new Owner(m.audience(), m.subject());
            if (owners.contains(wanted)) {
                continue;
            }
            Bucket bucket = index.compute(wanted, (o, b) -> {
                Bucket result = b == null ? new Bucket(o) : b;
                result.keys.add(key);
                return result;
            });
            // the bucket's own Owner instance is shared by every session of that subject
            owners.add(bucket.owner);
        }
        return owners.size() == 1 ? owners.get(0) : owners.toArray(new Owner[0]);
    }

    private void unindex(String key, Object owners) {
        if (owners instanceof Owner o) {
            unindex(key, o);
        } else if (owners instanceof Owner[] all) {
            for (Owner o : all) {
                unindex(key, o);
            }
        }
    }

    private void unindex(String key, Owner owner) {
        index.computeIfPresent(owner, (o, bucket) -> {
            bucket.keys.remove(key);
            // drop empty buckets so subjects that logged out do not stay in the index
            return bucket.keys.isEmpty() ? null : bucket;
        });
    }

    private record Owner(String audience, String subject) {
    }

    /** The keys of one (audience, subject); only touched inside {@code index}'s per-key lock. */
    private static final class Bucket {
        final Owner owner;
        final Set<String> keys = new HashSet<>(4);

        Bucket(Owner owner) {
            this.owner = owner;
        }
    }

    private static final class Entry {
        final byte[] value;
        /** Absolute, in the ticker's nanoseconds, so a renewal can compare and shorten it atomically. */
        final long expiresAt;
        /** null, an {@link Owner} or an {@code Owner[]}. */
        final Object owners;

        Entry(byte[] value, long expiresAt, Object owners) {
            this.value = value;
            this.expiresAt = expiresAt;
            this.owners = owners;
        }

        boolean ownedBy(Owner owner) {
            if (owners instanceof Owner o) {
                return o.equals(owner);
            }
            if (owners instanceof Owner[] all) {
                for (Owner o : all) {
                    if (o.equals(owner)) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /** Every write sets the expiry the entry carries; reads leave it alone. */
    private static final class EntryExpiry implements Expiry<String, Entry> {
        @Override
        public long expireAfterCreate(String key, Entry entry, long currentTime) {
            return Math.max(0, entry.expiresAt - currentTime);
        }

        @Override
        public long expireAfterUpdate(String key, Entry entry, long currentTime, long currentDuration) {
            return Math.max(0, entry.expiresAt - currentTime);
        }

        @Override
        public long expireAfterRead(String key, Entry entry, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }
}
