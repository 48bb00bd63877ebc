package io.github.apisixsession.apisix;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import jdk.net.UnixDomainPrincipal;

/**
 * Who may talk to the runner, decided on the credentials the kernel gives for each connection
 * ({@code SO_PEERCRED}: the peer's effective user and group when it connected).
 *
 * <p>Always allowed: root and the runner's own user (both can read the runner's memory anyway).
 * Then either the lists {@code SESSION_RUNNER_ALLOW_UIDS} / {@code SESSION_RUNNER_ALLOW_GIDS}
 * (user and group names or numbers, comma-separated), or, when neither is set, the users the local
 * nginx/OpenResty workers run as ({@link NginxWorkers}): that works unchanged under
 * {@code ext-plugin.cmd} and {@code path_for_test} whatever nginx's {@code user} directive says.
 * {@code SESSION_RUNNER_ALLOW_UIDS=any} turns the check off.
 */
final class PeerPolicy {

    static final String ALLOW_UIDS = "SESSION_RUNNER_ALLOW_UIDS";
    static final String ALLOW_GIDS = "SESSION_RUNNER_ALLOW_GIDS";

    /** How often the worker list may be re-read for a user refused before. */
    private static final long RESCAN_NANOS = 1_000_000_000L;

    private final boolean any;
    private final Set<UserPrincipal> selfAndRoot;
    private final Set<UserPrincipal> users;
    private final Set<GroupPrincipal> groups;
    private final boolean discoverWorkers;
    private final NginxWorkers workers;
    private final int ownUid;
    private final IntFunction<UserPrincipal> byUid;
    private final LongSupplier nanoTime;
    private final Set<UserPrincipal> workerUsers = ConcurrentHashMap.newKeySet();
    private final Map<UserPrincipal, Long> refusedAt = new HashMap<>();
    private long lastScan;
    private boolean scanned;

    private PeerPolicy(boolean any, Set<UserPrincipal> selfAndRoot, Set<UserPrincipal> users, Set<GroupPrincipal> groups, boolean discoverWorkers,
            NginxWorkers workers, int ownUid, IntFunction<UserPrincipal> byUid, LongSupplier nanoTime) {
        this.any = any;
        this.selfAndRoot = Set.copyOf(selfAndRoot);
        this.users = Set.copyOf(users);
        this.groups = Set.copyOf(groups);
        this.discoverWorkers = discoverWorkers;
        this.workers = workers;
        this.ownUid = ownUid;
        this.byUid = byUid;
        this.nanoTime = nanoTime;
    }

    /** Everyone may connect (no check), as before this policy existed. */
    static PeerPolicy anyone() {
        UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        return new PeerPolicy(true, selfAndRoot(lookup), Set.of(), Set.of(), false, null, -1, uid -> null,
                System::nanoTime);
    }

    private static Set<UserPrincipal> selfAndRoot(UserPrincipalLookupService lookup) {
        Set<UserPrincipal> out = new LinkedHashSet<>();
        out.add(user(lookup, "0", "root"));
        out.add(user(lookup, Integer.toString(ownUid()), "the runner's own user"));
        return out;
    }

    /** Whether the peer runs as root or as the runner's own user: who may take the runner's place. */
    boolean isSelfOrRoot(UnixDomainPrincipal peer) {
        return selfAndRoot.contains(peer.user());
    }

    /** Root, the runner's user and the local nginx workers' users: the default. */
    static PeerPolicy gatewayWorkers() {
        return of(List.of(), List.of(), true, NginxWorkers.system(), System::nanoTime);
    }

    /**
     * Reads {@code SESSION_RUNNER_ALLOW_UIDS} and {@code SESSION_RUNNER_ALLOW_GIDS}.
     *
     * @throws IllegalArgumentException naming an unknown user or group
     */
    static PeerPolicy fromEnv(Map<String, String> env) {
        List<String> uids = list(env.get(ALLOW_UIDS));
        List<String> gids = list(env.get(ALLOW_GIDS));
        if (uids.size() == 1 && uids.get(0).equals("any")) {
            if (!gids.isEmpty()) {
                throw new IllegalArgumentException(ALLOW_UIDS + "=any allows every peer: leave " + ALLOW_GIDS + " unset");
            }
            return anyone();
        }
        if (uids.contains("any")) {
            throw new IllegalArgumentException(ALLOW_UIDS + ": \"any\" must stand alone");
        }
        boolean discover = uids.isEmpty() && gids.isEmpty();
        return of(uids, gids, discover, NginxWorkers.system(), System::nanoTime);
    }

    static PeerPolicy of(List<String> uids, List<String> gids, boolean discoverWorkers, NginxWorkers workers,
            LongSupplier nanoTime) {
        UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        int own = ownUid();
        Set<UserPrincipal> selfAndRoot = selfAndRoot(lookup);
        Set<UserPrincipal> users = new LinkedHashSet<>(selfAndRoot);
        for (String u : uids) {
            users.add(user(lookup, u, ALLOW_UIDS));
        }
        Set<GroupPrincipal> groups = new LinkedHashSet<>();
        for (String g : gids) {
            try {
                groups.add(lookup.lookupPrincipalByGroupName(g));
            } catch (IOException e) {
                throw new IllegalArgumentException(ALLOW_GIDS + ": no such group: " + g);
            }
        }
        return new PeerPolicy(false, selfAndRoot, users, groups, discoverWorkers, workers, own,
                uid -> user(lookup, Integer.toString(uid), "a worker's user"), nanoTime);
    }

    private static UserPrincipal user(UserPrincipalLookupService lookup, String name, String what) {
        try {
            return lookup.lookupPrincipalByName(name);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": no such user: " + name);
        }
    }

    private static List<String> list(String text) {
        List<String> out = new ArrayList<>();
        if (text != null) {
            for (String part : text.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        }
        return out;
    }

    /** The runner's effective uid: the owner of its {@code /proc} entry. */
    static int ownUid() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return (Integer) uid;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    boolean checksPeers() {
        return !any;
    }

    /** The first allowed group, which the socket file is given when groups are listed; null when none is. */
    GroupPrincipal socketGroup() {
        return groups.isEmpty() ? null : groups.iterator().next();
    }

    /**
     * Whether a connection with these credentials, accepted at {@code acceptedAt}
     * ({@link System#nanoTime()}), may be served. An unknown user is looked for among the nginx
     * workers by a scan of {@code /proc} begun after the connection was accepted (so a worker that
     * connected is in it); a user refused before is looked for again at most once a second, so a
     * process that keeps knocking cannot keep the runner scanning.
     */
    boolean allows(UnixDomainPrincipal peer, long acceptedAt) {
        if (any || users.contains(peer.user()) || groups.contains(peer.group())) {
            return true;
        }
        if (!discoverWorkers) {
            return false;
        }
        synchronized (this) {
            if (workerUsers.contains(peer.user())) {
                return true;
            }
            Long refusedBy = refusedAt.get(peer.user());
            boolean throttled = refusedBy != null && nanoTime.getAsLong() - refusedBy < RESCAN_NANOS;
            if (!throttled && (!scanned || lastScan - acceptedAt < 0)) {
                scan();
            }
            if (workerUsers.contains(peer.user())) {
                return true;
            }
            if (refusedAt.size() >= 4096) {
                refusedAt.clear();
            }
            refusedAt.put(peer.user(), lastScan);
            return false;
        }
    }

    private void scan() {
        lastScan = nanoTime.getAsLong();
        scanned = true;
        for (int uid : workers.userIds(ownUid)) {
            try {
                workerUsers.add(byUid.apply(uid));
            } catch (IllegalArgumentException e) {
                // a uid the lookup cannot resolve: skip it
            }
        }
    }

    /** For the operator: what this policy admits. */
    String describe() {
        if (any) {
            return "any local user (" + ALLOW_UIDS + "=any)";
        }
        StringBuilder b = new StringBuilder("users ");
        users.forEach(u -> b.append(u.getName()).append(' '));
        if (!groups.isEmpty()) {
            b.append("groups ");
            groups.forEach(g -> b.append(g.getName()).append(' '));
        }
        if (discoverWorkers) {
            b.append("and the users of local nginx/openresty workers");
        }
        return b.toString().trim();
    }
}
