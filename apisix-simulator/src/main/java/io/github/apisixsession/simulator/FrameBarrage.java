package io.github.apisixsession.simulator;

import io.github.apisixsession.simulator.A6.ExtraInfoAnswer;
import io.github.apisixsession.simulator.A6.HttpReqCallRequest;
import io.github.apisixsession.simulator.A6.PrepareConfRequest;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Hostile input for a runner's socket, seeded and reproducible: each try opens its own connection
 * and sends one {@link Kind} of bad (or mutated) input, then reads what comes back. Replies are
 * checked to be well-formed A6 messages; a runner's ExtraInfo queries are answered like APISIX
 * does. What happened is tallied in a {@link Report}; the caller decides what must hold (our host)
 * and what is only observed (another runner).
 *
 * <pre>{@code
 * FrameBarrage b = new FrameBarrage(socket, seed, List.of(new Entry("session", conf)), List.of(cookieHeader));
 * FrameBarrage.Report r = b.run(300, 4);
 * FrameBarrage.Report s = b.stuck(100, 20, Duration.ofSeconds(5));
 * }</pre>
 */
public final class FrameBarrage {

    /** The kinds of input of {@link #run}. */
    public enum Kind {
        /** Random bytes (a random number of them), then end of output. */
        RANDOM_BYTES,
        /** A header of type 1, 2 or 4 with a correct length and a random body. */
        RANDOM_BODY,
        /** A valid PrepareConf or HTTPReqCall cut short, then the connection is closed. */
        TRUNCATED,
        /** A frame of a type APISIX never sends first (0, 3, 5..255), random body. */
        UNKNOWN_TYPE,
        /** A header announcing 0 bytes, any type. */
        ZERO_LENGTH,
        /** A valid PrepareConf (the route's conf) with 1 to 8 bits flipped. */
        MUTATED_PREPARE_CONF,
        /** A valid PrepareConf, then a valid HTTPReqCall with 1 to 8 bits flipped. */
        MUTATED_REQ_CALL,
        /** An HTTPReqCall with a token no PrepareConf handed out, then a PrepareConf on the same connection. */
        UNKNOWN_TOKEN,
        /** An ExtraInfo answer nobody asked for, as the first frame. */
        EXTRA_INFO_UNASKED,
        /** An HTTPReqCall whose ExtraInfo query is answered by another PrepareConf instead. */
        EXTRA_INFO_DESYNC
    }

    /** What a set of tries did. */
    public static final class Report {
        /** Frames (or byte blobs) sent, by kind. */
        public final Map<String, Integer> sent = new TreeMap<>();
        /** What came back, e.g. {@code RANDOM_BODY: Error BAD_REQUEST, closed}. */
        public final Map<String, Integer> outcomes = new TreeMap<>();
        /**
         * Contract breaches: a malformed reply, a complete frame left unanswered (closed without a
         * reply, or nothing within the reply timeout), a connection still open after the runner
         * should have closed it.
         */
        public final List<String> problems = new ArrayList<>();
        public int connections;
        public int closedByRunner;
        public int stillOpen;

        synchronized void count(Map<String, Integer> m, String key) {
            m.merge(key, 1, Integer::sum);
        }

        synchronized void problem(String p) {
            if (problems.size() < 50) {
                problems.add(p);
            }
        }

        synchronized void merge(Report o) {
            o.sent.forEach((k, v) -> sent.merge(k, v, Integer::sum));
            o.outcomes.forEach((k, v) -> outcomes.merge(k, v, Integer::sum));
            problems.addAll(o.problems);
            connections += o.connections;
            closedByRunner += o.closedByRunner;
            stillOpen += o.stillOpen;
        }

        public synchronized int sentTotal() {
            return sent.values().stream().mapToInt(Integer::intValue).sum();
        }

        @Override
        public synchronized String toString() {
            return "connections=" + connections + " sent=" + sent + " outcomes=" + outcomes
                    + (closedByRunner + stillOpen > 0 ? " stuck: closedByRunner=" + closedByRunner + " stillOpen=" + stillOpen : "")
                    + " problems=" + problems;
        }
    }

    private final Path socket;
    private final long seed;
    private final List<Entry> conf;
    private final List<Entry> headers;
    private final Duration replyTimeout;
    private volatile Duration strayWait = Duration.ZERO;

    /**
     * @param conf    the conf entries of a valid PrepareConf (the route's), the base of mutations
     * @param headers request headers of a valid HTTPReqCall (e.g. a session cookie)
     */
    public FrameBarrage(Path socket, long seed, List<Entry> conf, List<Entry> headers, Duration replyTimeout) {
        this.socket = socket;
        this.seed = seed;
        this.conf = List.copyOf(conf);
        this.headers = List.copyOf(headers);
        this.replyTimeout = replyTimeout;
    }

    /**
     * After each PrepareConf reply, wait this long for a stray second reply and skip it (the
     * official runner 0.4.0 answers every PrepareConf twice); zero (the default) waits not at all.
     */
    public FrameBarrage skipStrayPrepareConfReplies(Duration wait) {
        this.strayWait = wait;
        return this;
    }

    /** {@code tries} tries of random kinds on {@code threads} threads; try i uses seed (seed, i). */
    public Report run(int tries, int threads) throws InterruptedException {
        Report report = new Report();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t;
                futures.add(pool.submit(() -> {
                    for (int i = first; i < tries; i += threads) {
                        Random random = new Random(seed * 1_000_003L + i);
                        Kind kind = Kind.values()[random.nextInt(Kind.values().length)];
                        try {
                            one(kind, random, report, "seed " + seed + " try " + i + " " + kind);
                        } catch (IOException e) {
                            report.count(report.outcomes, kind + ": connect/write failed " + e.getClass().getSimpleName());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
        return report;
    }

    private void one(Kind kind, Random random, Report report, String where) throws IOException {
        report.count(report.sent, kind.name());
        try (Raw c = Raw.open(socket)) {
            synchronized (report) {
                report.connections++;
            }
            switch (kind) {
                case RANDOM_BYTES -> {
                    byte[] bytes = new byte[1 + random.nextInt(2000)];
                    random.nextBytes(bytes);
                    c.write(bytes);
                    c.shutdownOutput();
                    drain(c, kind, report, where);
                }
                case RANDOM_BODY -> {
                    int type = new int[] {1, 2, 4}[random.nextInt(3)];
                    byte[] body = new byte[random.nextInt(600)];
                    random.nextBytes(body);
                    exchange(c, new Frame(type, body), kind, report, where);
                }
                case TRUNCATED -> {
                    byte[] whole = (random.nextBoolean() ? prepareConf() : reqCall(random.nextInt(1000))).toBytes();
                    c.write(Arrays.copyOf(whole, 1 + random.nextInt(whole.length - 1)));
                    // closed by try-with-resources: the runner sees the end of stream inside a frame
                    report.count(report.outcomes, kind + ": sent and closed");
                }
                case UNKNOWN_TYPE -> {
                    int[] types = {0, 3, 5, 6, 7, 0x7f, 0x80, 0xff};
                    int type = random.nextBoolean() ? types[random.nextInt(types.length)] : 5 + random.nextInt(251);
                    byte[] body = new byte[random.nextInt(64)];
                    random.nextBytes(body);
                    exchange(c, new Frame(type, body), kind, report, where);
                }
                case ZERO_LENGTH -> exchange(c, new Frame(random.nextInt(256), new byte[0]), kind, report, where);
                case MUTATED_PREPARE_CONF -> exchange(c, mutate(prepareConf(), random), kind, report, where);
                case MUTATED_REQ_CALL -> {
                    Frame reply = exchange(c, prepareConf(), kind, report, where + " (its PrepareConf)");
                    if (reply != null && reply.type() == Frame.RPC_PREPARE_CONF) {
                        long token = A6Codec.decodePrepareConfReply(reply).confToken();
                        exchange(c, mutate(reqCall(token), random), kind, report, where);
                    }
                }
                case UNKNOWN_TOKEN -> {
                    long token = 0x4000_0000L + random.nextInt(0x3fff_ffff);
                    Frame reply = exchange(c, reqCall(token), kind, report, where);
                    if (reply != null) {
                        exchange(c, prepareConf(), kind, report, where + " (PrepareConf after it)");
                    }
                }
                case EXTRA_INFO_UNASKED -> exchange(c, A6Codec.encode(new ExtraInfoAnswer(new byte[] {'x'})), kind, report, where);
                case EXTRA_INFO_DESYNC -> {
                    Frame reply = exchange(c, prepareConf(), kind, report, where + " (its PrepareConf)");
                    if (reply != null && reply.type() == Frame.RPC_PREPARE_CONF) {
                        long token = A6Codec.decodePrepareConfReply(reply).confToken();
                        c.write(reqCall(token).toBytes());
                        Frame f = c.read(replyTimeout);
                        if (f != null && f.type() == Frame.RPC_EXTRA_INFO) {
                            c.write(prepareConf().toBytes()); // not the answer it waits for
                            Frame after = c.read(replyTimeout);
                            report.count(report.outcomes, kind + ": after the desync "
                                    + (after == null ? "closed" : describe(after)) + closedAfter(c));
                        } else {
                            report.count(report.outcomes, kind + ": no ExtraInfo query, got "
                                    + (f == null ? "closed" : describe(f)));
                        }
                    }
                }
                default -> throw new IllegalStateException();
            }
        } catch (java.net.SocketTimeoutException e) {
            report.problem(where + ": " + e.getMessage());
            report.count(report.outcomes, kind + ": HANG");
        }
    }

    /** Sends one complete frame and reads the reply, answering ExtraInfo queries; null when closed without one. */
    private Frame exchange(Raw c, Frame frame, Kind kind, Report report, String where) throws IOException {
        c.write(frame.toBytes());
        while (true) {
            Frame f;
            try {
                f = c.read(replyTimeout);
            } catch (IOException e) {
                f = null;
                if (e instanceof java.net.SocketTimeoutException) {
                    throw new java.net.SocketTimeoutException("no reply within " + replyTimeout + " to a complete frame");
                }
            }
            if (f == null) {
                report.count(report.outcomes, kind + ": closed without a reply");
                report.problem(where + ": a complete frame (" + Frame.typeName(frame.type()) + ", "
                        + frame.payload().length + " bytes) got no reply, the connection was closed");
                return null;
            }
            String malformed = malformed(f);
            if (malformed != null) {
                report.problem(where + ": malformed reply " + malformed);
                report.count(report.outcomes, kind + ": MALFORMED reply");
                return null;
            }
            if (f.type() == Frame.RPC_EXTRA_INFO) {
                report.count(report.outcomes, kind + ": ExtraInfo query answered");
                c.write(A6Codec.encode(new ExtraInfoAnswer(new byte[0])).toBytes());
                continue;
            }
            String d = describe(f);
            if (f.type() == Frame.RPC_ERROR && A6Codec.decodeError(f).code() == A6.ERR_BAD_REQUEST) {
                d += closedAfter(c);
            }
            report.count(report.outcomes, kind + ": " + d);
            if (f.type() == Frame.RPC_PREPARE_CONF && !strayWait.isZero()) {
                try {
                    Frame stray = c.read(strayWait);
                    report.count(report.outcomes, kind + ": a second reply to the PrepareConf: "
                            + (stray == null ? "closed" : describe(stray)));
                } catch (java.net.SocketTimeoutException none) {
                    // no stray reply
                }
            }
            return f;
        }
    }

    /** After a BAD_REQUEST: whether the runner closed the connection (within a second). */
    private String closedAfter(Raw c) {
        try {
            Frame more = c.read(Duration.ofSeconds(1));
            return more == null ? ", closed" : ", then " + describe(more);
        } catch (IOException e) {
            return e instanceof java.net.SocketTimeoutException ? ", kept open" : ", closed";
        }
    }

    private void drain(Raw c, Kind kind, Report report, String where) throws IOException {
        List<String> seen = new ArrayList<>();
        while (true) {
            Frame f;
            try {
                f = c.read(replyTimeout);
            } catch (java.net.SocketTimeoutException e) {
                throw new java.net.SocketTimeoutException("random bytes then end of output: not closed within " + replyTimeout);
            } catch (IOException e) {
                f = null;
            }
            if (f == null) {
                report.count(report.outcomes, kind + ": " + (seen.isEmpty() ? "closed" : String.join(" + ", seen) + ", closed"));
                return;
            }
            String malformed = malformed(f);
            if (malformed != null) {
                report.problem(where + ": malformed reply " + malformed);
            }
            seen.add(describe(f));
        }
    }

    /**
     * Many connections stuck mid-frame at once: {@code claimMax} send a header announcing
     * 16 MB - 1 and a few bytes, the rest half a header or part of a valid frame; all stay open.
     * Counts how many the runner closed within {@code wait}; closes the others.
     */
    public Report stuck(int connections, int claimMax, Duration wait) throws IOException, InterruptedException {
        Report report = new Report();
        Random random = new Random(seed ^ 0x5eed);
        List<Raw> open = new ArrayList<>();
        try {
            for (int i = 0; i < connections; i++) {
                Raw c = Raw.open(socket);
                open.add(c);
                report.connections++;
                if (i < claimMax) {
                    report.count(report.sent, "CLAIM_MAX");
                    c.write(new byte[] {(byte) (1 + random.nextInt(2)), (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2, 3, 4});
                } else if (random.nextBoolean()) {
                    report.count(report.sent, "HALF_HEADER");
                    c.write(Arrays.copyOf(new byte[] {1, 0, 0, 9}, 1 + random.nextInt(3)));
                } else {
                    report.count(report.sent, "PART_OF_A_FRAME");
                    byte[] whole = prepareConf().toBytes();
                    c.write(Arrays.copyOf(whole, 4 + random.nextInt(whole.length - 4)));
                }
            }
            long deadline = System.nanoTime() + wait.toNanos();
            for (Raw c : open) {
                long left = deadline - System.nanoTime();
                boolean closed;
                try {
                    Frame f = c.read(Duration.ofNanos(Math.max(1_000_000, left)));
                    closed = f == null;
                    if (f != null) {
                        report.count(report.outcomes, "stuck connection got " + describe(f));
                        closed = c.read(Duration.ofMillis(Math.max(1, left / 1_000_000))) == null;
                    }
                } catch (java.net.SocketTimeoutException e) {
                    closed = false;
                } catch (IOException e) {
                    closed = true;
                }
                if (closed) {
                    report.closedByRunner++;
                } else {
                    report.stillOpen++;
                }
            }
        } finally {
            open.forEach(Raw::close);
        }
        return report;
    }

    // ---- frames ----

    private Frame prepareConf() {
        return A6Codec.encode(new PrepareConfRequest("route&consumer#hostile&fiona#ext-plugin-post-req#1&1", conf));
    }

    private Frame reqCall(long token) {
        return A6Codec.encode(new HttpReqCallRequest(7, new byte[] {127, 0, 0, 1}, A6.methodCode("GET"), "/app/data",
                List.of(new Entry("a", "1")), headers, token));
    }

    private static Frame mutate(Frame frame, Random random) {
        byte[] p = frame.payload().clone();
        int flips = 1 + random.nextInt(8);
        for (int i = 0; i < flips; i++) {
            int bit = random.nextInt(p.length * 8);
            p[bit / 8] ^= (byte) (1 << (bit % 8));
        }
        return new Frame(frame.type(), p);
    }

    /** Null when {@code f} decodes as the message its type announces, else what is wrong. */
    static String malformed(Frame f) {
        try {
            switch (f.type()) {
                case Frame.RPC_ERROR -> {
                    int code = A6Codec.decodeError(f).code();
                    if (code < 0 || code > 2) {
                        return "error code " + code;
                    }
                }
                case Frame.RPC_PREPARE_CONF -> {
                    if (A6Codec.decodePrepareConfReply(f).confToken() == 0) {
                        return "conf token 0";
                    }
                }
                case Frame.RPC_HTTP_REQ_CALL -> A6Codec.decodeReqCallReply(f);
                case Frame.RPC_EXTRA_INFO -> A6Codec.decodeExtraInfoQuery(f);
                case Frame.RPC_HTTP_RESP_CALL -> A6Codec.decodeRespCallReply(f);
                default -> {
                    return "frame type " + f.type();
                }
            }
            return null;
        } catch (RuntimeException e) {
            return Frame.typeName(f.type()) + ": " + e;
        }
    }

    static String describe(Frame f) {
        if (f.type() == Frame.RPC_ERROR) {
            try {
                return "Error " + A6.errorName(A6Codec.decodeError(f).code());
            } catch (RuntimeException e) {
                return "Error (undecodable)";
            }
        }
        return Frame.typeName(f.type());
    }

    /** One raw connection: any bytes out, frames in with a deadline. */
    static final class Raw implements AutoCloseable {
        private final SocketChannel channel;
        private final Selector selector;

        private Raw(SocketChannel channel, Selector selector) {
            this.channel = channel;
            this.selector = selector;
        }

        static Raw open(Path socket) throws IOException {
            SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            try {
                ch.configureBlocking(false);
                Selector sel = Selector.open();
                ch.register(sel, SelectionKey.OP_READ);
                return new Raw(ch, sel);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }

        void write(byte[] bytes) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (buf.hasRemaining()) {
                if (channel.write(buf) == 0) {
                    if (System.nanoTime() > deadline) {
                        throw new java.net.SocketTimeoutException("write stalled");
                    }
                    Thread.onSpinWait();
                }
            }
        }

        void shutdownOutput() throws IOException {
            channel.shutdownOutput();
        }

        /** The next frame; null on end of stream (also inside a frame); SocketTimeoutException on timeout. */
        Frame read(Duration timeout) throws IOException {
            long deadline = System.nanoTime() + timeout.toNanos();
            ByteBuffer hdr = ByteBuffer.allocate(4);
            if (!fill(hdr, deadline)) {
                return null;
            }
            ByteBuffer data = ByteBuffer.allocate(Frame.lengthOf(hdr.array()));
            if (!fill(data, deadline)) {
                return null;
            }
            return new Frame(hdr.get(0) & 0xff, data.array());
        }

        private boolean fill(ByteBuffer buf, long deadline) throws IOException {
            while (buf.hasRemaining()) {
                int n = channel.read(buf);
                if (n < 0) {
                    return false;
                }
                if (n == 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new java.net.SocketTimeoutException("timeout");
                    }
                    selector.select(Math.max(1, left / 1_000_000));
                    selector.selectedKeys().clear();
                }
            }
            return true;
        }

        @Override
        public void close() {
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing to do
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
