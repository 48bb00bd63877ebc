package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import jdk.net.UnixDomainPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The allow-list against SO_PEERCRED credentials, with a fake {@code /proc}. */
class PeerPolicyTest {

    private static final long SECOND = 1_000_000_000L;

    @TempDir
    Path proc;

    private final AtomicLong now = new AtomicLong(10 * SECOND);

    private static UnixDomainPrincipal peer(String uid, String gid) throws IOException {
        UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        return new UnixDomainPrincipal(lookup.lookupPrincipalByName(uid), lookup.lookupPrincipalByGroupName(gid));
    }

    private void process(int pid, String name, int parent, int uid) throws IOException {
        Path dir = Files.createDirectories(proc.resolve(Integer.toString(pid)));
        Files.writeString(dir.resolve("status"), "Name:\t" + name + "\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t" + pid
                + "\nPPid:\t" + parent + "\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\nGid:\t0\t0\t0\t0\n");
    }

    private PeerPolicy discovering() {
        return PeerPolicy.of(List.of(), List.of(), true, new NginxWorkers(proc), now::get);
    }

    private boolean allows(PeerPolicy policy, UnixDomainPrincipal peer) {
        return policy.allows(peer, now.get());
    }

    @Test
    void rootAndTheRunnersOwnUserAreAlwaysAllowedAndOthersNotWithoutWorkers() throws IOException {
        PeerPolicy policy = discovering();
        assertTrue(allows(policy, peer("0", "0")));
        assertTrue(allows(policy, peer(Integer.toString(PeerPolicy.ownUid()), "0")));
        assertFalse(allows(policy, peer("65534", "65534")), "no nginx runs here: nobody is a stranger");
    }

    @Test
    void theUserOfAWorkerOfARootNginxMasterIsAllowed() throws IOException {
        process(100, "nginx", 1, 0);
        process(101, "nginx", 100, 65534);
        process(102, "bash", 1, 4321);
        assertTrue(allows(discovering(), peer("65534", "65534")), "nginx's workers run as nobody");
        assertFalse(allows(discovering(), peer("4321", "4321")), "another local user");
    }

    @Test
    void openrestyCountsAndAMasterOfAnotherUserOrANonNginxParentDoesNot() throws IOException {
        process(200, "openresty", 1, 0);
        process(201, "openresty", 200, 33);
        process(300, "nginx", 1, 4321); // a user's own nginx: its workers are that user
        process(301, "nginx", 300, 65534);
        process(400, "bash", 1, 0);
        process(401, "nginx", 400, 1000); // named nginx, started by a shell
        PeerPolicy policy = discovering();
        assertTrue(allows(policy, peer("33", "33")), "OpenResty (APISIX's nginx) worker user");
        assertFalse(allows(policy, peer("65534", "65534")), "a worker of another user's master");
        assertFalse(allows(policy, peer("1000", "1000")), "a process named nginx whose parent is no nginx master");
    }

    @Test
    void aRefusedUserIsLookedForAgainAtMostOnceASecondAndANewUserAtOnce() throws IOException {
        PeerPolicy policy = discovering();
        assertFalse(allows(policy, peer("65534", "65534")));
        process(100, "nginx", 1, 0);
        process(101, "nginx", 100, 65534);
        process(102, "nginx", 100, 33);
        now.addAndGet(SECOND / 2);
        assertFalse(allows(policy, peer("65534", "65534")), "refused a moment ago: no new scan yet");
        assertTrue(allows(policy, peer("33", "33")), "a user never refused gets a fresh scan");
        now.addAndGet(SECOND);
        assertTrue(allows(policy, peer("65534", "65534")), "a second later it is looked for again");
    }

    @Test
    void explicitListsReplaceTheDiscoveryAndGroupsMatchThePrimaryGroup() throws IOException {
        process(100, "nginx", 1, 0);
        process(101, "nginx", 100, 65534);
        PeerPolicy users = PeerPolicy.of(List.of("33"), List.of(), false, new NginxWorkers(proc), now::get);
        assertTrue(allows(users, peer("33", "33")));
        assertFalse(allows(users, peer("65534", "65534")), "no discovery once a list is given");
        assertTrue(allows(users, peer("0", "0")), "root stays allowed");
        PeerPolicy groups = PeerPolicy.of(List.of(), List.of("65534"), false, new NginxWorkers(proc), now::get);
        assertTrue(allows(groups, peer("4321", "65534")), "any user whose group is listed");
        assertFalse(allows(groups, peer("4321", "4321")));
        assertTrue(PeerPolicy.anyone().allows(peer("4321", "4321"), now.get()));
    }
}
