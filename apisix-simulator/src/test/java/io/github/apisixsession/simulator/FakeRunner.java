package io.github.apisixsession.simulator;

import io.github.apisixsession.simulator.A6.ErrorReply;
import io.github.apisixsession.simulator.A6.ExtraInfoQuery;
import io.github.apisixsession.simulator.A6.HttpReqCallRequest;
import io.github.apisixsession.simulator.A6.HttpRespCallRequest;
import io.github.apisixsession.simulator.A6.PrepareConfReply;
import io.github.apisixsession.simulator.A6.PrepareConfRequest;
import io.github.apisixsession.simulator.A6.ReqCallReply;
import io.github.apisixsession.simulator.A6.RespCallReply;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** A scriptable in-process runner on a unix socket, for testing the simulator without the real one. */
final class FakeRunner implements AutoCloseable {
    interface ReqHandler {
        Object handle(HttpReqCallRequest req, List<Entry> conf, Io io) throws IOException;
    }

    interface RespHandler {
        Object handle(HttpRespCallRequest req, List<Entry> conf, Io io) throws IOException;
    }

    /** Lets a handler ask APISIX for extra info on the same connection. */
    static final class Io {
        private final InputStream in;
        private final OutputStream out;

        Io(InputStream in, OutputStream out) {
            this.in = in;
            this.out = out;
        }

        byte[] ask(ExtraInfoQuery q) throws IOException {
            out.write(A6Codec.encode(q).toBytes());
            out.flush();
            return A6Codec.decodeExtraInfoAnswer(Frame.read(in)).result();
        }

        String var(String name) throws IOException {
            byte[] r = ask(ExtraInfoQuery.var(name));
            return r == null ? "" : new String(r, StandardCharsets.UTF_8);
        }
    }

    final Path socket;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    final Map<Long, List<Entry>> confs = new ConcurrentHashMap<>();
    final List<String> prepareKeys = new CopyOnWriteArrayList<>();
    final List<HttpReqCallRequest> reqCalls = new CopyOnWriteArrayList<>();
    final AtomicLong nextToken = new AtomicLong(1);
    volatile ErrorReply prepareError;
    volatile ReqHandler reqHandler = (req, conf, io) -> new A6.Rewrite(req.id(), null, List.of(), List.of(), List.of());
    volatile RespHandler respHandler = (req, conf, io) -> new RespCallReply(req.id(), 0, List.of(), new byte[0]);

    FakeRunner(Path dir) throws IOException {
        this.socket = dir.resolve("fake.sock");
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        acceptor = new Thread(this::acceptLoop, "fake-runner-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Forgets every token, like a runner restart or conf expiry. */
    void forgetTokens() {
        confs.clear();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                Thread t = new Thread(() -> serve(ch), "fake-runner-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            InputStream in = Channels.newInputStream(ch);
            OutputStream out = Channels.newOutputStream(ch);
            Io io = new Io(in, out);
            while (true) {
                Frame f;
                try {
                    f = Frame.read(in);
                } catch (IOException eof) {
                    return;
                }
                Frame reply = dispatch(f, io);
                out.write(reply.toBytes());
                out.flush();
            }
        } catch (IOException ignored) {
            // connection gone
        }
    }

    private Frame dispatch(Frame f, Io io) throws IOException {
        switch (f.type()) {
            case Frame.RPC_PREPARE_CONF: {
                PrepareConfRequest req = A6Codec.decodePrepareConfRequest(f);
                prepareKeys.add(req.key());
                if (prepareError != null) {
                    return A6Codec.encode(prepareError);
                }
                long token = nextToken.getAndIncrement();
                confs.put(token, req.conf());
                return A6Codec.encode(new PrepareConfReply(token));
            }
            case Frame.RPC_HTTP_REQ_CALL: {
                HttpReqCallRequest req = A6Codec.decodeHttpReqCallRequest(f);
                reqCalls.add(req);
                List<Entry> conf = confs.get(req.confToken());
                if (conf == null) {
                    return A6Codec.encode(new ErrorReply(A6.ERR_CONF_TOKEN_NOT_FOUND));
                }
                Object r = reqHandler.handle(req, conf, io);
                return r instanceof ErrorReply e ? A6Codec.encode(e) : A6Codec.encode((ReqCallReply) r);
            }
            case Frame.RPC_HTTP_RESP_CALL: {
                HttpRespCallRequest req = A6Codec.decodeHttpRespCallRequest(f);
                List<Entry> conf = confs.get(req.confToken());
                if (conf == null) {
                    return A6Codec.encode(new ErrorReply(A6.ERR_CONF_TOKEN_NOT_FOUND));
                }
                Object r = respHandler.handle(req, conf, io);
                return r instanceof ErrorReply e ? A6Codec.encode(e) : A6Codec.encode((RespCallReply) r);
            }
            default:
                return A6Codec.encode(new ErrorReply(A6.ERR_BAD_REQUEST));
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
    }
}
