package io.github.apisixsession.benchmarks;

import io.github.apisixsession.simulator.A6;
import io.github.apisixsession.simulator.A6Codec;
import io.github.apisixsession.simulator.Entry;
import io.github.apisixsession.simulator.Frame;
import java.io.IOException;
import java.io.InputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One simulated APISIX worker: an event loop over its own keep-alive connections to the runner
 * (one RPC at a time per connection, ExtraInfo answered inside the RPC, as nginx's cosockets do).
 * Closed loop: every connection sends its next request as soon as the previous one is answered.
 * Open loop: the loop releases requests at a fixed rate (checked whenever it wakes, at least every
 * millisecond); a request that finds every connection busy waits in a queue, and that wait counts
 * in its latency.
 */
final class DriverWorker implements AutoCloseable {

    enum Kind { VALID, LOGIN_APISIX, LOGIN_UPSTREAM, LOGOUT }

    /** The request mix, in per-mille. */
    record Mix(int validPermille, int loginPermille, double upstreamLoginShare) {
        Mix {
            if (validPermille < 0 || loginPermille < 0 || validPermille + loginPermille > 1000) {
                throw new IllegalArgumentException("mix out of range");
            }
        }
    }

    /** What one phase does: a target, closed loop (rate 0) or a rate for this worker. */
    record Phase(Target target, double ratePerSecond, long warmupNanos, long measureNanos, Mix mix) {
    }

    /** What a worker measured in one phase. */
    static final class Result {
        final LatencyHistogram latency = new LatencyHistogram();
        final long[] kinds = new long[Kind.values().length];
        long completed;
        long errors;
        long unexpected;
        long queuedMax;
        final List<String> problems = new ArrayList<>();

        void add(Result o) {
            latency.add(o.latency);
            for (int i = 0; i < kinds.length; i++) {
                kinds[i] += o.kinds[i];
            }
            completed += o.completed;
            errors += o.errors;
            unexpected += o.unexpected;
            queuedMax = Math.max(queuedMax, o.queuedMax);
            for (String p : o.problems) {
                if (problems.size() < 5) {
                    problems.add(p);
                }
            }
        }
    }

    private static final byte[] SRC_IP = {10, 0, 0, 7};
    /** The login upstream's body, which APISIX hands over when the runner asks (ExtraInfo RespBody). */
    private static final byte[] LOGIN_BODY = "{\"welcome\":true}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    private static final List<Entry> BASE_HEADERS = List.of(
            Entry.of("host", "app.example.com"),
            Entry.of("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            Entry.of("accept", "application/json, text/plain, */*"),
            Entry.of("accept-language", "en-US,en;q=0.5"),
            Entry.of("accept-encoding", "gzip, deflate, br"),
            Entry.of("x-forwarded-for", "203.0.113.9"),
            Entry.of("x-real-ip", "203.0.113.9"));
    /**
     * What key-auth with {@code anonymous_consumer} (APISIX >= 3.11) sets on a request without a
     * credential, over any client value, before ext-plugin-post-req runs.
     */
    private static final Entry ANONYMOUS = Entry.of("x-consumer-username", "anon");
    private static final List<Entry> APP_ARGS = List.of(Entry.of("page", "2"));
    private static final List<Entry> LOGOUT_ARGS = List.of(Entry.of("session_logout", null));

    private final int index;
    private final Path socket;
    private final int connectionCount;
    private final Selector selector;
    private final List<Conn> conns = new ArrayList<>();
    private final SplittableRandom random;
    private final Map<String, long[]> tokens = new HashMap<>();
    private final Map<String, List<SessionRef>> pools = new HashMap<>();
    private List<String> cookieTemplates = List.of();
    private long users;
    private long requestIds;

    // per phase
    private Phase phase;
    private List<SessionRef> pool;
    private long[] phaseTokens;
    private Result result;
    private long measureStart;
    private long measureEnd;
    private boolean stopping;
    private boolean seeding;
    private int seedTarget;
    private int inFlight;
    private final ArrayDeque<Conn> idle = new ArrayDeque<>();
    private final ArrayDeque<Long> pending = new ArrayDeque<>();

    DriverWorker(int index, Path socket, int connections, long seed) throws IOException {
        this.index = index;
        this.socket = socket;
        this.connectionCount = connections;
        this.selector = Selector.open();
        this.random = new SplittableRandom(seed);
    }

    /** Connects every connection and sends a PrepareConf per route of each target (blocking). */
    void connect(List<Target> targets) throws IOException {
        for (int i = 0; i < connectionCount; i++) {
            SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            if (i == 0) {
                InputStream in = Channels.newInputStream(ch);
                for (Target t : targets) {
                    tokens.put(t.name(), new long[] {
                        prepare(ch, in, "route#app-" + t.name() + "#post_req#1", t.plugin(), t.appConf()),
                        prepare(ch, in, "route#login-" + t.name() + "#pre_req#1", t.plugin(), t.loginConf()),
                        prepare(ch, in, "route#login-" + t.name() + "#post_resp#1", t.plugin(), t.loginConf())});
                }
            }
            ch.configureBlocking(false);
            Conn c = new Conn(ch);
            ch.register(selector, SelectionKey.OP_READ, c);
            conns.add(c);
        }
    }

    private static long prepare(SocketChannel ch, InputStream in, String key, String plugin, String conf)
            throws IOException {
        Frame req = A6Codec.encode(new A6.PrepareConfRequest(key, List.of(Entry.of(plugin, conf))));
        ByteBuffer buf = req.encode();
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
        Frame reply = Frame.read(in);
        if (reply.type() != Frame.RPC_PREPARE_CONF) {
            throw new IOException("PrepareConf " + key + " refused: "
                    + (reply.type() == Frame.RPC_ERROR ? A6Codec.decodeError(reply) : reply)
                    + " (see the runner's log)");
        }
        return A6Codec.decodePrepareConfReply(reply).confToken();
    }

    int poolSize(String target) {
        List<SessionRef> p = pools.get(target);
        return p == null ? 0 : p.size();
    }

    /** Cookie values a noop target sends: real session cookies, so frames have the real size. */
    void cookieTemplates(List<String> templates) {
        this.cookieTemplates = List.copyOf(templates);
    }

    List<String> cookies(String target, int max) {
        List<String> out = new ArrayList<>();
        for (SessionRef s : pools.getOrDefault(target, List.of())) {
            if (out.size() >= max) {
                break;
            }
            out.add(s.cookie);
        }
        return out;
    }

    /** Logs in until {@code sessions} sessions are held for {@code target} (closed loop, unmeasured). */
    Result seed(Target target, int sessions, Mix mix) throws IOException {
        seeding = true;
        seedTarget = sessions;
        try {
            return run(new Phase(target, 0, 0, Long.MAX_VALUE / 4, mix));
        } finally {
            seeding = false;
        }
    }

    /** Runs one phase: warm-up, then measurement, then waits for the requests in flight. */
    Result run(Phase p) throws IOException {
        phase = p;
        pool = pools.computeIfAbsent(p.target().name(), k -> new ArrayList<>());
        phaseTokens = tokens.get(p.target().name());
        result = new Result();
        stopping = false;
        inFlight = 0;
        idle.clear();
        pending.clear();
        long start = System.nanoTime();
        measureStart = start + p.warmupNanos();
        measureEnd = measureStart + p.measureNanos();
        boolean open = p.ratePerSecond() > 0;
        double interval = open ? 1e9 / p.ratePerSecond() : 0;
        long released = 0;
        if (open) {
            idle.addAll(conns);
        } else {
            for (Conn c : conns) {
                dispatch(c, System.nanoTime());
            }
        }
        long drainDeadline = Long.MAX_VALUE;
        while (true) {
            long now = System.nanoTime();
            if (!stopping && (now >= measureEnd || (seeding && pool.size() >= seedTarget))) {
                stopping = true;
                drainDeadline = now + 10_000_000_000L;
            }
            if (stopping && inFlight == 0) {
                break;
            }
            if (now > drainDeadline) {
                throw new IOException(inFlight + " RPC(s) still unanswered 10 s after the phase ended");
            }
            long timeoutMs = 50;
            if (open && !stopping) {
                // requests due by now are released; a request's latency starts when it is released,
                // so the event loop's timer granularity is not counted, but waiting for a free
                // connection is
                while (start + (long) (released * interval) <= now) {
                    pending.add(now);
                    released++;
                }
                result.queuedMax = Math.max(result.queuedMax, pending.size());
                while (!pending.isEmpty() && !idle.isEmpty()) {
                    dispatch(idle.poll(), pending.poll());
                }
                long nextDue = start + (long) (released * interval);
                timeoutMs = Math.max(1, Math.min(50, (nextDue - now + 999_999) / 1_000_000));
            }
            selector.select(timeoutMs);
            for (SelectionKey key : selector.selectedKeys()) {
                ((Conn) key.attachment()).onReadable();
            }
            selector.selectedKeys().clear();
        }
        return result;
    }

    // ------------------------------------------------------------------ requests

    private final class Req {
        Kind kind;
        SessionRef session;
        String user;
        String requestId;
        long start;
        boolean inResponsePhase;
    }

    /** A logged-in browser: its current cookie and how many of its requests are in flight. */
    private static final class SessionRef {
        String cookie;
        int inFlight;

        SessionRef(String cookie) {
            this.cookie = cookie;
        }
    }

    private Kind nextKind() {
        if (seeding || pool.isEmpty()) {
            return Kind.LOGIN_APISIX;
        }
        Mix mix = phase.mix();
        int r = random.nextInt(1000);
        if (r < mix.validPermille()) {
            return Kind.VALID;
        }
        if (r < mix.validPermille() + mix.loginPermille()) {
            return random.nextDouble() < mix.upstreamLoginShare() ? Kind.LOGIN_UPSTREAM : Kind.LOGIN_APISIX;
        }
        return Kind.LOGOUT;
    }

    private void dispatch(Conn c, long start) {
        Req r = new Req();
        r.kind = nextKind();
        r.start = start;
        r.requestId = Integer.toHexString(index) + "-" + Long.toHexString(++requestIds);
        List<Entry> headers = new ArrayList<>(BASE_HEADERS.size() + 3);
        headers.addAll(BASE_HEADERS);
        Frame frame;
        switch (r.kind) {
            case VALID -> {
                r.session = pool.get(random.nextInt(pool.size()));
                headers.add(Entry.of("cookie", "_ga=GA1.2.1234567890.1700000000; " + r.session.cookie));
                headers.add(ANONYMOUS);
                frame = reqCall(c, "GET", "/app/orders", APP_ARGS, headers, phaseTokens[0]);
            }
            case LOGOUT -> {
                SessionRef s = null;
                for (int tries = 0; tries < 4 && s == null; tries++) {
                    int i = random.nextInt(pool.size());
                    if (pool.get(i).inFlight == 0) {
                        s = pool.get(i);
                        // swap-remove: a logged-out session is never picked again
                        pool.set(i, pool.get(pool.size() - 1));
                        pool.remove(pool.size() - 1);
                    }
                }
                if (s == null) {
                    r.kind = Kind.VALID;
                    s = pool.get(random.nextInt(pool.size()));
                }
                r.session = s;
                headers.add(Entry.of("cookie", "_ga=GA1.2.1234567890.1700000000; " + s.cookie));
                headers.add(ANONYMOUS);
                frame = r.kind == Kind.LOGOUT
                        ? reqCall(c, "POST", "/app/orders", LOGOUT_ARGS, headers, phaseTokens[0])
                        : reqCall(c, "GET", "/app/orders", APP_ARGS, headers, phaseTokens[0]);
            }
            case LOGIN_APISIX -> {
                r.user = "user-" + index + "-" + (++users);
                // key-auth (APISIX >= 3.11) sets these on the request before ext-plugin-post-req
                headers.add(Entry.of("apikey", "key-" + r.user));
                headers.add(Entry.of("x-consumer-username", r.user));
                headers.add(Entry.of("x-credential-identifier", "cred-" + r.user));
                frame = reqCall(c, "GET", "/app/orders", APP_ARGS, headers, phaseTokens[0]);
            }
            case LOGIN_UPSTREAM -> {
                r.user = "user-" + index + "-" + (++users);
                headers.add(Entry.of("content-type", "application/x-www-form-urlencoded"));
                headers.add(Entry.of("content-length", "41"));
                frame = reqCall(c, "POST", "/login", List.of(), headers, phaseTokens[1]);
            }
            default -> throw new IllegalStateException();
        }
        if (r.session != null) {
            r.session.inFlight++;
        }
        c.req = r;
        inFlight++;
        c.send(frame);
    }

    private Frame reqCall(Conn c, String method, String path, List<Entry> args, List<Entry> headers, long token) {
        return A6Codec.encode(new A6.HttpReqCallRequest(++c.ids, SRC_IP, A6.methodCode(method), path, args,
                headers, token));
    }

    private void onFrame(Conn c, Frame f) {
        Req r = c.req;
        if (r == null) {
            throw new IllegalStateException("a frame arrived on an idle connection: " + f);
        }
        switch (f.type()) {
            case Frame.RPC_EXTRA_INFO -> {
                A6.ExtraInfoQuery q = A6Codec.decodeExtraInfoQuery(f);
                byte[] value = null;
                if (q.kind() == A6.InfoKind.VAR) {
                    String v = switch (q.name()) {
                        case "consumer_name" -> r.inResponsePhase || r.kind == Kind.LOGIN_UPSTREAM ? null
                                : r.kind == Kind.LOGIN_APISIX ? r.user : "anon";
                        case "request_id" -> r.requestId;
                        case "remote_addr" -> "203.0.113.9";
                        default -> null;
                    };
                    value = v == null ? null : v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                } else if (q.kind() == A6.InfoKind.REQ_BODY) {
                    value = new byte[0];
                } else if (q.kind() == A6.InfoKind.RESP_BODY && r.inResponsePhase) {
                    value = LOGIN_BODY.clone();
                }
                c.send(A6Codec.encode(new A6.ExtraInfoAnswer(value)));
                return;
            }
            case Frame.RPC_ERROR -> {
                result.errors++;
                problem(r, "error frame " + A6Codec.decodeError(f));
                complete(c, r, null);
                return;
            }
            case Frame.RPC_HTTP_REQ_CALL -> {
                A6.ReqCallReply reply = A6Codec.decodeReqCallReply(f);
                if (r.kind == Kind.LOGIN_UPSTREAM) {
                    if (reply instanceof A6.Stop) {
                        unexpected(r, reply.toString());
                        complete(c, r, null);
                        return;
                    }
                    r.inResponsePhase = true;
                    List<Entry> upstream = List.of(
                            Entry.of("content-type", "application/json"),
                            Entry.of("content-length", Integer.toString(LOGIN_BODY.length)),
                            Entry.of("date", "Sun, 22 Nov 2026 00:00:00 GMT"),
                            Entry.of("server", "upstream"),
                            Entry.of("cache-control", "no-store"),
                            Entry.of("x-session-subject", r.user),
                            Entry.of("x-session-groups", "staff"));
                    c.send(A6Codec.encode(new A6.HttpRespCallRequest(c.ids, 200, upstream, phaseTokens[2])));
                    return;
                }
                check(r, reply);
                complete(c, r, reply instanceof A6.Rewrite rw ? setCookie(rw.respHeaders()) : null);
                return;
            }
            case Frame.RPC_HTTP_RESP_CALL -> {
                A6.RespCallReply reply = A6Codec.decodeRespCallReply(f);
                String cookie = setCookie(reply.headers());
                if (!phase.target().isNoop() && cookie == null) {
                    unexpected(r, "login response without a session cookie: " + reply);
                }
                complete(c, r, cookie);
                return;
            }
            default -> {
                result.errors++;
                problem(r, "unexpected frame " + f);
                complete(c, r, null);
            }
        }
    }

    private void check(Req r, A6.ReqCallReply reply) {
        if (phase.target().isNoop()) {
            if (!(reply instanceof A6.NoAction)) {
                unexpected(r, reply.toString());
            }
            return;
        }
        switch (r.kind) {
            case VALID -> {
                if (!(reply instanceof A6.Rewrite rw) || rw.headers().stream()
                        .noneMatch(h -> h.name().equalsIgnoreCase("X-Consumer-Username") && h.hasValue())) {
                    unexpected(r, "valid session not accepted: " + reply);
                }
            }
            case LOGIN_APISIX -> {
                if (!(reply instanceof A6.Rewrite rw) || setCookie(rw.respHeaders()) == null) {
                    unexpected(r, "login without a session cookie: " + reply);
                }
            }
            case LOGOUT -> {
                if (!(reply instanceof A6.Stop stop) || stop.status() != 200) {
                    unexpected(r, "logout not answered 200: " + reply);
                }
            }
            default -> {
            }
        }
    }

    private static String setCookie(List<Entry> headers) {
        for (Entry h : headers) {
            if (h.name().equalsIgnoreCase("Set-Cookie") && h.value() != null && h.value().startsWith("session=")
                    && !h.value().startsWith("session=;")) {
                int semi = h.value().indexOf(';');
                return semi < 0 ? h.value() : h.value().substring(0, semi);
            }
        }
        return null;
    }

    private void complete(Conn c, Req r, String cookie) {
        long now = System.nanoTime();
        c.req = null;
        inFlight--;
        if (r.session != null) {
            r.session.inFlight--;
            if (cookie != null && r.kind == Kind.VALID) {
                r.session.cookie = cookie;
            }
        }
        if ((r.kind == Kind.LOGIN_APISIX || r.kind == Kind.LOGIN_UPSTREAM)) {
            if (phase.target().isNoop() && !cookieTemplates.isEmpty()) {
                cookie = cookieTemplates.get(random.nextInt(cookieTemplates.size()));
            } else if (phase.target().isNoop()) {
                cookie = "session=" + "x".repeat(380);
            }
            if (cookie != null) {
                pool.add(new SessionRef(cookie));
            }
        }
        if (now >= measureStart && now < measureEnd && !seeding) {
            result.latency.record(now - r.start);
            result.completed++;
            result.kinds[r.kind.ordinal()]++;
        }
        if (stopping) {
            return;
        }
        if (phase.ratePerSecond() > 0) {
            if (pending.isEmpty()) {
                idle.add(c);
            } else {
                dispatch(c, pending.poll());
            }
        } else {
            dispatch(c, now);
        }
    }

    private void unexpected(Req r, String what) {
        result.unexpected++;
        problem(r, what);
    }

    private void problem(Req r, String what) {
        if (result.problems.size() < 5) {
            result.problems.add(phase.target().name() + " " + r.kind + ": " + what);
        }
    }

    // ------------------------------------------------------------------ connections

    private final class Conn {
        final SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocate(1 << 16);
        long ids;
        Req req;

        Conn(SocketChannel channel) {
            this.channel = channel;
        }

        void send(Frame frame) {
            ByteBuffer buf = frame.encode();
            try {
                while (buf.hasRemaining()) {
                    if (channel.write(buf) == 0) {
                        Thread.onSpinWait();
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("the runner closed a connection: " + e, e);
            }
        }

        void onReadable() throws IOException {
            int n = channel.read(in);
            if (n < 0) {
                throw new IOException("the runner closed a connection" + (req == null ? "" : " during " + req.kind));
            }
            while (in.position() >= 4) {
                int len = ((in.get(1) & 0xFF) << 16) | ((in.get(2) & 0xFF) << 8) | (in.get(3) & 0xFF);
                if (len + 4 > in.capacity()) {
                    throw new IOException("frame of " + len + " bytes is larger than the driver's buffer");
                }
                if (in.position() < 4 + len) {
                    break;
                }
                int type = in.get(0) & 0xFF;
                byte[] payload = new byte[len];
                in.flip();
                in.position(4);
                in.get(payload);
                in.compact();
                onFrame(this, new Frame(type, payload));
            }
        }
    }

    @Override
    public void close() {
        for (Conn c : conns) {
            try {
                c.channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
