package io.github.apisixsession.storage.redis;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import redis.clients.jedis.ClientSetInfoConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.DefaultJedisSocketFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.JedisSentineled;
import redis.clients.jedis.JedisSocketFactory;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;

/** Builds the Jedis client for {@link RedisSettings}: pooled standalone, Sentinel or Cluster. */
final class RedisClients {

    /** {@code CLIENT SETNAME} of the client cache's invalidation connections. */
    static final String TRACKING_CLIENT_NAME = "apisix-session-tracking";
    /** {@code CLIENT SETNAME} of the shared-state feed's subscriber connections. */
    static final String STATE_CLIENT_NAME = "apisix-session-state";

    private RedisClients() {
    }

    /**
     * The client. Standalone clients connect lazily; Sentinel and Cluster clients ask their nodes
     * for the topology here, so this may throw a {@code JedisException}.
     */
    static UnifiedJedis create(RedisSettings s) {
        GenericObjectPoolConfig<Connection> pool = poolConfig(s);
        return switch (s.mode()) {
            case STANDALONE -> s.socket() != null
                    ? new JedisPooled(pool, unixSocket(s.socket(), s.connectTimeoutMillis(), s.readTimeoutMillis()),
                            clientConfig(s, s.username(), s.password(), s.database()))
                    : new JedisPooled(new HostAndPort(s.host(), s.port()),
                            clientConfig(s, s.username(), s.password(), s.database()), pool);
            case SENTINEL -> new JedisSentineled(s.master(), clientConfig(s, s.username(), s.password(), s.database()),
                    pool, hostsAndPorts(s.sentinels()),
                    clientConfig(s, s.sentinelUsername(), s.sentinelPassword(), 0));
            case CLUSTER -> new JedisCluster(hostsAndPorts(s.nodes()), clientConfig(s, s.username(), s.password(), 0),
                    s.maxRedirections(),
                    // a command retried on redirections or failed connections still ends near the timeouts
                    Duration.ofMillis((long) s.connectTimeoutMillis() + s.readTimeoutMillis()), pool);
        };
    }

    static GenericObjectPoolConfig<Connection> poolConfig(RedisSettings s) {
        ConnectionPoolConfig pool = new ConnectionPoolConfig();
        pool.setMaxTotal(s.dataPoolSize());
        pool.setMaxIdle(s.dataPoolSize());
        pool.setMinIdle(0);
        // a request never queues for a connection longer than pool_wait
        pool.setBlockWhenExhausted(true);
        pool.setMaxWait(Duration.ofMillis(s.poolWaitMillis()));
        // lua-resty-session's keepalive_timeout: idle connections are closed after it
        pool.setMinEvictableIdleDuration(Duration.ofMillis(s.keepaliveTimeoutMillis()));
        pool.setTimeBetweenEvictionRuns(Duration.ofMillis(Math.max(1000, Math.min(30_000, s.keepaliveTimeoutMillis() / 2))));
        pool.setTestWhileIdle(true);
        pool.setTestOnBorrow(false);
        pool.setJmxEnabled(false);
        return pool;
    }

    static JedisClientConfig clientConfig(RedisSettings s, String user, String password, int database) {
        return clientConfigBuilder(s, user, password, database).build();
    }

    /**
     * The client cache's invalidation connection: the data connections' settings (credentials,
     * database, TLS, timeouts), RESP3 for the invalidation pushes, and a name that tells it apart
     * in {@code CLIENT LIST}.
     */
    static JedisClientConfig trackingConfig(RedisSettings s) {
        return clientConfigBuilder(s, s.username(), s.password(), s.mode() == RedisSettings.Mode.CLUSTER ? 0 : s.database())
                .protocol(RedisProtocol.RESP3)
                .clientName(TRACKING_CLIENT_NAME)
                .build();
    }

    /** The shared-state feed's subscriber connection: the data connections' settings and a name of its own. */
    static JedisClientConfig stateFeedConfig(RedisSettings s) {
        return clientConfigBuilder(s, s.username(), s.password(), s.mode() == RedisSettings.Mode.CLUSTER ? 0 : s.database())
                .clientName(STATE_CLIENT_NAME)
                .build();
    }

    /** How a connection to {@code node} is opened: the unix socket of a standalone server, else TCP or TLS. */
    static JedisSocketFactory socketFactory(RedisSettings s, HostAndPort node, JedisClientConfig config) {
        return s.socket() != null ? unixSocket(s.socket(), s.connectTimeoutMillis(), s.readTimeoutMillis())
                : new DefaultJedisSocketFactory(node, config);
    }

    private static DefaultJedisClientConfig.Builder clientConfigBuilder(RedisSettings s, String user, String password,
            int database) {
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(s.connectTimeoutMillis())
                .socketTimeoutMillis(s.readTimeoutMillis())
                .database(database)
                // no CLIENT SETINFO round trip on every new connection (Redis < 7.2 rejects it anyway)
                .clientSetInfoConfig(ClientSetInfoConfig.DISABLED);
        if (password != null) {
            b.user(user).password(password);
        }
        if (s.ssl()) {
            b.ssl(true).sslSocketFactory(sslSocketFactory(s));
            SSLParameters params = new SSLParameters();
            if (s.sslVerify()) {
                // check the certificate's name, which plain JSSE sockets do not do
                params.setEndpointIdentificationAlgorithm("HTTPS");
            }
            if (s.serverName() != null) {
                params.setServerNames(List.of(new SNIHostName(s.serverName())));
            }
            b.sslParameters(params);
        }
        return b;
    }

    private static SSLSocketFactory sslSocketFactory(RedisSettings s) {
        try {
            SSLSocketFactory base;
            if (s.sslVerify()) {
                base = SSLContext.getDefault().getSocketFactory();
            } else {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
                base = ctx.getSocketFactory();
            }
            return s.serverName() == null ? base : new ServerNameSocketFactory(base, s.serverName());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS is not available in this JVM: " + e.getMessage(), e);
        }
    }

    private static Set<HostAndPort> hostsAndPorts(List<RedisSettings.Node> nodes) {
        Set<HostAndPort> out = new LinkedHashSet<>();
        for (RedisSettings.Node n : nodes) {
            out.add(new HostAndPort(n.host(), n.port()));
        }
        return out;
    }

    /** lua-resty-session's {@code socket}: a unix domain socket (junixsocket, as Jedis's own tests do). */
    private static JedisSocketFactory unixSocket(String path, int connectTimeoutMillis, int readTimeoutMillis) {
        File file = new File(path);
        return () -> {
            Socket socket = null;
            try {
                socket = AFUNIXSocket.newInstance();
                socket.connect(AFUNIXSocketAddress.of(file), connectTimeoutMillis);
                socket.setSoTimeout(readTimeoutMillis);
                return socket;
            } catch (IOException e) {
                if (socket != null) {
                    try {
                        socket.close();
                    } catch (IOException ignored) {
                        // the connect failure is what matters
                    }
                }
                throw new JedisConnectionException("Failed to connect to unix socket " + path, e);
            }
        };
    }

    /**
     * {@code server_name}: the TLS peer name (SNI and, with {@code ssl_verify}, the certificate
     * check) is the configured name instead of the host connected to.
     */
    private static final class ServerNameSocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory delegate;
        private final String serverName;

        ServerNameSocketFactory(SSLSocketFactory delegate, String serverName) {
            this.delegate = delegate;
            this.serverName = serverName;
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return delegate.createSocket(s, serverName, port, autoClose);
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return delegate.createSocket(host, port);
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return delegate.createSocket(host, port, localHost, localPort);
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return delegate.createSocket(host, port);
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return delegate.createSocket(address, port, localAddress, localPort);
        }
    }

    /** {@code "ssl_verify": false}: encryption without authentication of the server. */
    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
