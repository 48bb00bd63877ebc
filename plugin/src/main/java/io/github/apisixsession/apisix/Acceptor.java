package io.github.apisixsession.apisix;

import java.io.IOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts connections on the runner's listening sockets (usually one; a second one when the
 * socket file had to be published again) on one thread ({@code a6-accept}). {@link #finish()}
 * accepts what is still queued and closes the listeners: called once the path no longer names
 * them, so that no connection a gateway already made is reset.
 */
final class Acceptor implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(Acceptor.class);

    private final Selector selector;
    private final BiConsumer<SocketChannel, Long> onAccept;
    private final Queue<ServerSocketChannel> added = new ConcurrentLinkedQueue<>();
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private final Thread thread;
    private volatile boolean finishing;

    Acceptor(BiConsumer<SocketChannel, Long> onAccept) throws IOException {
        this.selector = Selector.open();
        this.onAccept = onAccept;
        this.thread = new Thread(this, "a6-accept");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Starts accepting on {@code listener} too. */
    void add(ServerSocketChannel listener) {
        added.add(listener);
        selector.wakeup();
    }

    /** Accepts the connections still queued, closes every listener and ends the thread (waits for it). */
    void finish() {
        finishing = true;
        selector.wakeup();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void run() {
        try {
            while (true) {
                registerAdded();
                if (finishing) {
                    break;
                }
                selector.select(1_000);
                for (SelectionKey key : selector.selectedKeys()) {
                    acceptAll((ServerSocketChannel) key.channel());
                }
                selector.selectedKeys().clear();
            }
            for (ServerSocketChannel listener : listeners) {
                acceptAll(listener);
            }
        } catch (IOException | ClosedSelectorException e) {
            LOG.error("the acceptor stopped: {}", e.toString());
        } finally {
            for (ServerSocketChannel listener : listeners) {
                closeQuietly(listener);
            }
            closeQuietly(selector);
        }
    }

    private void registerAdded() throws IOException {
        ServerSocketChannel listener;
        while ((listener = added.poll()) != null) {
            listener.configureBlocking(false);
            listener.register(selector, SelectionKey.OP_ACCEPT);
            listeners.add(listener);
        }
    }

    /** Accepted channels are in blocking mode, whatever the listener's mode. */
    private void acceptAll(ServerSocketChannel listener) {
        while (true) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (IOException e) {
                // e.g. out of file descriptors: the connection stays queued, try again shortly
                LOG.error("accept failed: {}", e.toString());
                pause();
                return;
            }
            if (channel == null) {
                return;
            }
            onAccept.accept(channel, System.nanoTime());
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }
}
