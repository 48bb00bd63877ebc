package io.github.apisixsession.apisix;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.attribute.GroupPrincipal;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the {@link PeerPolicy} to each accepted connection before a byte of it is read: a
 * refused peer is counted every time and logged once per user and group, so a process that keeps
 * knocking cannot fill the log (APISIX copies a spawned runner's output into its error.log).
 */
final class PeerGate {

    private static final Logger LOG = LoggerFactory.getLogger(PeerGate.class);
    /** Distinct refused peers logged one by one; later ones are only counted. */
    private static final int MAX_LOGGED = 1000;

    private static final GroupPrincipal NOBODY_KNOWN = () -> "?";
    /** Stands for the peer when its credentials cannot be read, and for "too many to log". */
    private static final UnixDomainPrincipal UNREADABLE = new UnixDomainPrincipal(NOBODY_KNOWN, NOBODY_KNOWN);
    private static final UnixDomainPrincipal TOO_MANY = new UnixDomainPrincipal(() -> "…", () -> "…");

    private final PeerPolicy policy;
    private final HostMetrics metrics;
    private final Set<UnixDomainPrincipal> logged = ConcurrentHashMap.newKeySet();

    PeerGate(PeerPolicy policy, HostMetrics metrics) {
        this.policy = policy;
        this.metrics = metrics;
    }

    /** The peer's credentials when it may be served, else null. */
    UnixDomainPrincipal admit(SocketChannel channel, long acceptedAt) {
        UnixDomainPrincipal peer;
        try {
            peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
        } catch (IOException | UnsupportedOperationException e) {
            if (!policy.checksPeers()) {
                return UNREADABLE;
            }
            refuse("peer credentials unreadable (" + e + "): every connection is refused; "
                    + PeerPolicy.ALLOW_UIDS + "=any turns the check off", UNREADABLE);
            return null;
        }
        if (policy.allows(peer, acceptedAt)) {
            return peer;
        }
        refuse("refused a connection from user " + peer.user().getName() + " (group " + peer.group().getName()
                + "): allowed are " + policy.describe() + "; see " + PeerPolicy.ALLOW_UIDS + " and "
                + PeerPolicy.ALLOW_GIDS + " (logged once per user and group)", peer);
        return null;
    }

    private void refuse(String message, UnixDomainPrincipal peer) {
        metrics.connectionRefused(HostMetrics.Refusal.PEER);
        if (logged.size() < MAX_LOGGED && logged.add(peer)) {
            LOG.warn(message);
        } else if (logged.size() >= MAX_LOGGED && logged.add(TOO_MANY)) {
            LOG.warn("{} distinct peers refused: further ones are counted "
                    + "(apisix_session_runner_connections_refused_total) but not logged", MAX_LOGGED);
        }
    }
}
