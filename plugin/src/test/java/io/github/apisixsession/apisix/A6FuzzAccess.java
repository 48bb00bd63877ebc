package io.github.apisixsession.apisix;

import io.github.api7.A6.Err.Code;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.memory.MemorySessionStorageProvider;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * Drives the A6 host in-process for the fuzz target {@code io.github.apisixsession.fuzz.A6FrameFuzzTest}:
 * a byte stream goes through {@link A6FrameReader} and {@link RpcDispatcher} exactly as
 * {@link A6Connection#serve} would run it (ExtraInfo replies are read from the same stream), with
 * the session plugin on cookie and memory storage and a fixed clock.
 */
public final class A6FuzzAccess {

    /**
     * The heap a frame read may allocate beyond four times the bytes the peer actually sent (the
     * reader's doubling array, plus a class loaded and instrumented late).
     */
    public static final long READ_ALLOCATION_SLACK = 1024 * 1024;

    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1_700_000_000L), ZoneOffset.UTC);
    private static final SessionExtPlugin PLUGIN = new SessionExtPlugin(CLOCK,
            new SessionStorages(List.of(new MemorySessionStorageProvider()),
                    new StorageContext(CLOCK, Map.<String, String>of()::get)), SessionMetrics.NONE);
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static {
        // load (and, when fuzzing, instrument) the classes once, so their cost is not counted as
        // the allocation of a frame read
        try {
            Path dir = Files.createTempDirectory("a6-fuzz-warmup");
            main(new String[] {dir.toString()});
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    byte[] seed = Files.readAllBytes(f);
                    serve(java.util.Arrays.copyOfRange(seed, 1, seed.length), 5);
                    serve(java.util.Arrays.copyOfRange(seed, 1, seed.length - 1), 1 << 20);
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private A6FuzzAccess() {
    }

    /** What a connection made of a stream. */
    public record Outcome(int replies, int malformed, boolean truncated, long maxReadAllocation, long streamBytes) {
    }

    /**
     * Serves {@code stream} handed out {@code chunk} bytes per read. Returns normally on a clean end of
     * the stream, on a truncated frame (EOFException, what A6Connection treats as a dropped
     * connection) or after a MalformedRpcException (answered BAD_REQUEST, connection closed).
     *
     * @throws AssertionError on anything A6Connection would not handle as above: another exception
     *         from the reader or the dispatcher, a reply that is not a well-formed frame, or a plugin
     *         failure (SERVICE_UNAVAILABLE: an exception escaped the engine)
     */
    public static Outcome serve(byte[] stream, int chunk) {
        ReadableByteChannel channel = channel(stream, Math.max(1, chunk));
        A6FrameReader reader = new A6FrameReader(channel);
        RpcDispatcher dispatcher = new RpcDispatcher(Map.of(PLUGIN.name(), PLUGIN),
                new ConfCache(HostSettings.of(Path.of("/nonexistent/fuzz.sock"))));
        long[] maxRead = {0};
        boolean[] broken = {false};
        GatewayLink link = new GatewayLink() {
            public byte[] variable(String name) throws GatewayException {
                return extraInfo();
            }

            public byte[] requestBody() throws GatewayException {
                return extraInfo();
            }

            public byte[] responseBody() throws GatewayException {
                return extraInfo();
            }

            private byte[] extraInfo() throws GatewayException {
                if (broken[0]) {
                    throw new GatewayException("gateway connection already failed", null);
                }
                try {
                    A6Frame reply = read(reader, maxRead);
                    if (reply == null) {
                        throw new IOException("connection closed by the gateway");
                    }
                    if (reply.type() != A6Frame.RPC_EXTRA_INFO) {
                        throw new IOException("expected an ExtraInfo reply, got frame type " + reply.type());
                    }
                    return A6Codec.decodeExtraInfoResp(reply.payload());
                } catch (IOException | MalformedRpcException e) {
                    broken[0] = true;
                    throw new GatewayException("fetching from APISIX failed: " + e.getMessage(), e);
                }
            }
        };
        int replies = 0;
        int malformed = 0;
        boolean truncated = false;
        try {
            while (true) {
                A6Frame frame = read(reader, maxRead);
                if (frame == null) {
                    break;
                }
                A6Frame reply;
                try {
                    reply = dispatcher.handle(frame, link);
                } catch (MalformedRpcException e) {
                    malformed++;
                    break; // A6Connection answers BAD_REQUEST and closes
                }
                if (broken[0]) {
                    break; // A6Connection closes after a failed ExtraInfo exchange, without a reply
                }
                replies++;
                checkReply(reply);
            }
        } catch (EOFException e) {
            truncated = true; // a frame cut short: A6Connection drops the connection
        } catch (IOException e) {
            throw new AssertionError("unexpected I/O failure on an in-memory stream", e);
        }
        return new Outcome(replies, malformed, truncated, maxRead[0], stream.length);
    }

    private static A6Frame read(A6FrameReader reader, long[] maxRead) throws IOException {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        try {
            return reader.read();
        } finally {
            maxRead[0] = Math.max(maxRead[0], THREADS.getCurrentThreadAllocatedBytes() - before);
        }
    }

    private static void checkReply(A6Frame reply) {
        if (reply.type() == A6Frame.RPC_ERROR) {
            int code = io.github.api7.A6.Err.Resp.getRootAsResp(TestGateway.buf(reply.payload())).code();
            if (code == Code.SERVICE_UNAVAILABLE) {
                // the session plugin on cookie and memory storage has no outage to report: an
                // exception escaped the engine (RpcDispatcher logged it just above)
                throw new AssertionError("SERVICE_UNAVAILABLE: the plugin failed (see the log line above)");
            }
            if (code != Code.BAD_REQUEST && code != Code.CONF_TOKEN_NOT_FOUND) {
                throw new AssertionError("unexpected error code " + code);
            }
        } else if (reply.type() != A6Frame.RPC_PREPARE_CONF && reply.type() != A6Frame.RPC_HTTP_REQ_CALL
                && reply.type() != A6Frame.RPC_HTTP_RESP_CALL) {
            throw new AssertionError("unexpected reply type " + reply.type());
        }
    }

    /** Hands out {@code data} at most {@code chunk} bytes per read, like a socket would. */
    static ReadableByteChannel channel(byte[] data, int chunk) {
        return new ReadableByteChannel() {
            int pos;

            @Override
            public int read(ByteBuffer dst) {
                if (pos >= data.length) {
                    return -1;
                }
                int n = Math.min(Math.min(chunk, dst.remaining()), data.length - pos);
                dst.put(data, pos, n);
                pos += n;
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
    }

    // ---- seeds ---------------------------------------------------------------------------------

    static byte[] frame(int type, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(type);
        out.write(payload.length >>> 16);
        out.write(payload.length >>> 8);
        out.write(payload.length);
        out.writeBytes(payload);
        return out.toByteArray();
    }

    static byte[] extraInfoResp(byte[] result) {
        com.google.flatbuffers.FlatBufferBuilder b = new com.google.flatbuffers.FlatBufferBuilder(64);
        int vec = result == null ? 0 : io.github.api7.A6.ExtraInfo.Resp.createResultVector(b, result);
        io.github.api7.A6.ExtraInfo.Resp.startResp(b);
        if (vec != 0) {
            io.github.api7.A6.ExtraInfo.Resp.addResult(b, vec);
        }
        b.finish(io.github.api7.A6.ExtraInfo.Resp.endResp(b));
        return b.sizedByteArray();
    }

    /**
     * Writes the seed streams of A6FrameFuzzTest into {@code args[0]}: a PrepareConf, then an
     * HTTPReqCall with its ExtraInfo answers, and the like. The first byte of each seed is the read
     * chunk selector of the fuzz target.
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        String conf = "{\"secret\":\"fuzz-secret-0123456789abcdef0123456789\",\"cookie_secure\":false}";
        String memConf = "{\"secret\":\"fuzz-secret-0123456789abcdef0123456789\",\"storage\":\"memory\","
                + "\"reject_status\":401,\"logout_methods\":[\"POST\"],\"read_body_for_logout\":true}";
        byte[] prepare = frame(A6Frame.RPC_PREPARE_CONF, TestGateway.prepareConfPayload("route#1", "session", conf));
        byte[] prepareMem = frame(A6Frame.RPC_PREPARE_CONF, TestGateway.prepareConfPayload("route#2", "session",
                memConf));
        TestGateway.Request get = TestGateway.Request.get("/").withHeaders(List.of(
                new HttpHeader("Cookie", "session=AAAA; other=1"), new HttpHeader("X-Consumer-Username", "admin")));
        byte[] reqCall = frame(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(1, get));
        byte[] login = frame(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(1, TestGateway.Request.get("/")));
        byte[] consumer = frame(A6Frame.RPC_EXTRA_INFO, extraInfoResp("alice".getBytes()));
        byte[] none = frame(A6Frame.RPC_EXTRA_INFO, extraInfoResp(null));
        TestGateway.Request logout = TestGateway.Request.get("/").withMethod(io.github.api7.A6.Method.POST)
                .withArgs(List.of(new HttpHeader("session_logout", "1"))).withHeaders(List.of(
                        new HttpHeader("Content-Type", "application/x-www-form-urlencoded")));
        byte[] logoutCall = frame(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(1, logout));
        byte[] body = frame(A6Frame.RPC_EXTRA_INFO, extraInfoResp("session_logout=1".getBytes()));
        byte[] respCall = frame(A6Frame.RPC_HTTP_RESP_CALL, respCallPayload(1));
        write(dir.resolve("prepare-conf"), (byte) 0, prepare);
        write(dir.resolve("prepare-then-request"), (byte) 0, prepare, reqCall, none, none, none, none);
        write(dir.resolve("login-with-consumer"), (byte) 7, prepare, login, consumer, none, none, none, none);
        write(dir.resolve("memory-logout-body"), (byte) 3, prepareMem, logoutCall, none, none, none, body, none);
        write(dir.resolve("response-call"), (byte) 0, prepare, respCall);
        write(dir.resolve("unknown-token"), (byte) 0, reqCall);
        write(dir.resolve("length-16MB-header-only"), (byte) 0, new byte[] {2, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
    }

    static byte[] respCallPayload(long token) {
        com.google.flatbuffers.FlatBufferBuilder b = new com.google.flatbuffers.FlatBufferBuilder(256);
        int hv = io.github.api7.A6.HTTPRespCall.Req.createHeadersVector(b, TestGateway.entries(b, List.of(
                new HttpHeader("Content-Type", "text/plain"), new HttpHeader("Set-Cookie", "a=b"))));
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, 9, 200, hv, token));
        return b.sizedByteArray();
    }

    private static void write(Path file, byte chunkSelector, byte[]... parts) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(chunkSelector);
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        Files.write(file, out.toByteArray());
    }
}
