package io.github.apisixsession.storage.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.JedisSentineled;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The Redis nodes whose writes the client cache must hear about, per deployment: the server
 * (standalone), the master the Sentinel client currently writes to, or every master of a Cluster.
 * Every write to a session goes to one of them, so tracking them all sees every change.
 */
sealed interface TrackedNodes {

    /** The nodes to listen to now; empty when they are not known yet (no Sentinel or Cluster client). */
    List<HostAndPort> resolve();

    /** Commands run on a node before tracking starts there, each reply checked by {@link #checkSetup}. */
    default List<CommandArguments> setupChecks() {
        return List.of();
    }

    /** Throws when a setup check's reply says the node must not be tracked. */
    default void checkSetup(Object reply) {
    }

    /**
     * Whether reads still go where the feed listens. Runs on every cache hit, so it must be cheap:
     * true except for Sentinel, whose client may have followed a failover the feed has not yet.
     */
    default boolean current(List<HostAndPort> tracked) {
        return true;
    }

    /** A command sent on every heartbeat whose reply tells whether the nodes changed; null for none. */
    default CommandArguments probe() {
        return null;
    }

    /** Whether {@code reply} to {@link #probe()}, sent to {@code node}, lists nodes other than {@code tracked}. */
    default boolean changed(Object reply, HostAndPort node, List<HostAndPort> tracked) {
        return false;
    }

    static TrackedNodes of(RedisSettings s, Supplier<UnifiedJedis> client) {
        return switch (s.mode()) {
            case STANDALONE -> new Standalone(new HostAndPort(s.socket() != null ? "unix:" + s.socket() : s.host(),
                    s.socket() != null ? 0 : s.port()));
            case SENTINEL -> new Sentinel(client);
            case CLUSTER -> new Cluster(client);
        };
    }

    /** One server (TCP or the unix socket). */
    record Standalone(HostAndPort server) implements TrackedNodes {
        @Override
        public List<HostAndPort> resolve() {
            return List.of(server);
        }
    }

    /** The master the Sentinel client writes to; a node that is not (or no longer) a master is refused. */
    record Sentinel(Supplier<UnifiedJedis> client) implements TrackedNodes {
        @Override
        public List<HostAndPort> resolve() {
            HostAndPort master = master();
            return master == null ? List.of() : List.of(master);
        }

        private HostAndPort master() {
            return client.get() instanceof JedisSentineled s ? s.getCurrentMaster() : null;
        }

        @Override
        public List<CommandArguments> setupChecks() {
            return List.of(new CommandArguments(Protocol.Command.ROLE));
        }

        @Override
        public void checkSetup(Object reply) {
            Object role = reply instanceof List<?> l && !l.isEmpty() ? l.get(0) : null;
            if (!(role instanceof byte[] b) || !"master".equals(new String(b, StandardCharsets.UTF_8))) {
                throw new JedisException("the node is not a master (a failover is under way)");
            }
        }

        @Override
        public boolean current(List<HostAndPort> tracked) {
            HostAndPort master = master();
            return master != null && tracked.size() == 1 && tracked.get(0).equals(master);
        }
    }

    /** Every master of the Cluster, from {@code CLUSTER SLOTS}, checked again on every heartbeat. */
    record Cluster(Supplier<UnifiedJedis> client) implements TrackedNodes {
        private static final CommandArguments SLOTS = new CommandArguments(Protocol.Command.CLUSTER).add("SLOTS");

        @Override
        public List<HostAndPort> resolve() {
            if (!(client.get() instanceof JedisCluster cluster)) {
                return List.of();
            }
            JedisException last = new JedisException("no cluster node known");
            for (Map.Entry<String, ConnectionPool> node : cluster.getClusterNodes().entrySet()) {
                try (Connection c = node.getValue().getResource()) {
                    return masters(c.executeCommand(SLOTS), HostAndPort.from(node.getKey()));
                } catch (JedisException e) {
                    last = e;
                }
            }
            throw last;
        }

        @Override
        public CommandArguments probe() {
            return SLOTS;
        }

        @Override
        public boolean changed(Object reply, HostAndPort node, List<HostAndPort> tracked) {
            return !masters(reply, node).equals(tracked);
        }

        /** The masters in a {@code CLUSTER SLOTS} reply, sorted; an empty host means the node asked. */
        static List<HostAndPort> masters(Object reply, HostAndPort asked) {
            TreeSet<String> out = new TreeSet<>();
            if (reply instanceof List<?> ranges) {
                for (Object range : ranges) {
                    if (range instanceof List<?> r && r.size() > 2 && r.get(2) instanceof List<?> master
                            && master.size() > 1 && master.get(0) instanceof byte[] host
                            && master.get(1) instanceof Long port) {
                        String h = new String(host, StandardCharsets.UTF_8);
                        out.add((h.isEmpty() || h.equals("?") ? asked.getHost() : h) + ":" + port);
                    }
                }
            }
            if (out.isEmpty()) {
                throw new JedisException("CLUSTER SLOTS listed no master");
            }
            List<HostAndPort> masters = new ArrayList<>(out.size());
            for (String m : out) {
                masters.add(HostAndPort.from(m));
            }
            return List.copyOf(masters);
        }
    }
}
