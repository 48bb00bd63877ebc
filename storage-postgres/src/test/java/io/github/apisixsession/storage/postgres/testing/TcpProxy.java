package io.github.apisixsession.storage.postgres.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP forwarder on 127.0.0.1 in front of the test database, to play an outage without touching
 * the shared server:
 * <ul>
 *   <li>{@link #cut()}: closes every connection and the listening socket; new connections are
 *       refused (the database is down);</li>
 *   <li>{@link #blackhole()}: connections stay open and are accepted, but no byte is forwarded
 *       (the database hangs, or the network drops packets);</li>
 *   <li>{@link #restore()}: forwards again, on the same port.</li>
 * </ul>
 */
public final class TcpProxy implements AutoCloseable {

    private static final AtomicInteger THREADS = new AtomicInteger();

    private final String targetHost;
    private final int targetPort;
    private final int port;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket server;
    private volatile boolean blackholed;
    private final AtomicInteger accepted = new AtomicInteger();

    public TcpProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        ServerSocket s = bind(0);
        this.port = s.getLocalPort();
        listen(s);
    }

    public int port() {
        return port;
    }

    public String host() {
        return "127.0.0.1";
    }

    /** Connections accepted so far (a client reached "the database", answered or not). */
    public int accepted() {
        return accepted.get();
    }

    /** The database is down: open connections are closed and new ones refused. */
    public synchronized void cut() {
        blackholed = false;
        closeServer();
        closeSockets();
    }

    /** The database hangs: connections are accepted, nothing is forwarded either way. */
    public synchronized void blackhole() throws IOException {
        blackholed = true;
        if (server == null) {
            listen(bind(port));
        }
    }

    /** Back to forwarding (connections open during a blackhole are closed: their streams are torn). */
    public synchronized void restore() throws IOException {
        if (blackholed) {
            blackholed = false;
            closeSockets();
        }
        if (server == null) {
            listen(bind(port));
        }
    }

    @Override
    public synchronized void close() {
        closeServer();
        closeSockets();
    }

    private static ServerSocket bind(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        return s;
    }

    private void listen(ServerSocket s) {
        server = s;
        Thread t = new Thread(() -> acceptLoop(s), "tcp-proxy-accept-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            Socket client;
            try {
                client = s.accept();
            } catch (IOException e) {
                return;
            }
            sockets.add(client);
            accepted.incrementAndGet();
            if (blackholed) {
                continue; // held open, never answered
            }
            try {
                Socket upstream = new Socket();
                upstream.connect(new InetSocketAddress(targetHost, targetPort), 3000);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                close(client);
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (blackholed) {
                        continue; // swallow: the other side waits forever
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // closed by cut() or by either end
            } finally {
                close(from);
                close(to);
            }
        }, "tcp-proxy-pump-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        t.start();
    }

    private void closeServer() {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // already closed
            }
        }
    }

    private void closeSockets() {
        for (Socket s : sockets) {
            close(s);
        }
    }

    private void close(Socket s) {
        sockets.remove(s);
        try {
            s.setSoLinger(true, 0); // a reset, as when the server process dies
        } catch (SocketException e) {
            // closed already
        }
        try {
            s.close();
        } catch (IOException e) {
            // closed already
        }
    }
}
