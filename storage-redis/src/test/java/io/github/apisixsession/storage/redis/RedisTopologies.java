package io.github.apisixsession.storage.redis;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Real Sentinel and Cluster set-ups from Debian's redis-server, on free loopback ports. */
final class RedisTopologies {

    private RedisTopologies() {
    }

    /** One master, one replica and one sentinel (quorum 1) monitoring {@code name}. */
    static final class Sentinel implements AutoCloseable {
        final String name;
        final RedisProcess master;
        final RedisProcess replica;
        final RedisProcess sentinel;

        Sentinel(String name) throws IOException {
            this.name = name;
            RedisProcess m = null;
            RedisProcess r = null;
            try {
                m = RedisProcess.launch();
                r = RedisProcess.launch("--replicaof", "127.0.0.1", Integer.toString(m.port()));
                awaitReplication(m);
                this.master = m;
                this.replica = r;
                this.sentinel = RedisProcess.launchSentinel(name, m.port());
            } catch (IOException | RuntimeException e) {
                if (r != null) {
                    r.close();
                }
                if (m != null) {
                    m.close();
                }
                throw e;
            }
        }

        private static void awaitReplication(RedisProcess master) throws IOException {
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (System.nanoTime() < deadline) {
                String info = master.cli("INFO", "replication");
                if (info.contains("slave0:") && info.contains("state=online")) {
                    return;
                }
                RedisProcess.sleep(100);
            }
            throw new IOException("the replica did not come online: " + master.cli("INFO", "replication"));
        }

        @Override
        public void close() {
            sentinel.close();
            replica.close();
            master.close();
        }
    }

    /** A three-master cluster without replicas, made with {@code redis-cli --cluster create}. */
    static final class Cluster implements AutoCloseable {
        final List<RedisProcess> nodes = new ArrayList<>();

        Cluster() throws IOException {
            try {
                for (int i = 0; i < 3; i++) {
                    nodes.add(RedisProcess.launch("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "2000"));
                }
                List<String> cmd = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
                for (RedisProcess n : nodes) {
                    cmd.add("127.0.0.1:" + n.port());
                }
                cmd.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
                RedisProcess.run(cmd);
                awaitOk();
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        private void awaitOk() throws IOException {
            long deadline = System.nanoTime() + 120_000_000_000L;
            for (RedisProcess n : nodes) {
                while (!n.cli("CLUSTER", "INFO").contains("cluster_state:ok")) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException("cluster not ok: " + n.cli("CLUSTER", "INFO"));
                    }
                    RedisProcess.sleep(100);
                }
            }
        }

        List<java.util.Map<String, Object>> nodesConfig() {
            List<java.util.Map<String, Object>> out = new ArrayList<>();
            for (RedisProcess n : nodes) {
                // lua-resty-session's cluster nodes say ip
                out.add(java.util.Map.of("ip", "127.0.0.1", "port", n.port()));
            }
            return out;
        }

        @Override
        public void close() {
            for (RedisProcess n : nodes) {
                n.close();
            }
        }
    }
}
