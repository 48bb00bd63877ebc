package io.github.apisixsession.apisix;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.PrepareConf.Req;
import io.github.api7.A6.TextEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Our runners' private exchange on the socket when a new runner takes the path over from a
 * running one, on a frame type APISIX never sends. {@link #STATUS}: is the old runner stopping
 * (SIGTERM received)? {@link #EXPORT}: its live conf tokens with their PrepareConf, so the new
 * runner answers the tokens APISIX already holds instead of {@code CONF_TOKEN_NOT_FOUND} (which,
 * while both runners still serve connections, could send APISIX back and forth between them);
 * the old runner drains from then on. {@link #PEEK}: the same without draining, so that the new
 * runner parses the confs before it publishes its socket and only the few made meanwhile after.
 * Only a peer running as the runner's own user or as root is answered: confs can hold secrets.
 *
 * <p>Frames: request {@code MAGIC [op]} (the magic keeps a stray frame of this type from being
 * taken for a request); STATUS answer {@code [0 serving | 1 stopping]}; EXPORT and PEEK answer:
 * one frame {@code [1][token u32][PrepareConf.Req flatbuffer]} per token, then {@code [0]}.
 */
final class Handover {

    /** A frame type outside APISIX's 0..4. */
    static final int FRAME = 0x5A;
    static final byte STATUS = 1;
    static final byte EXPORT = 2;
    static final byte PEEK = 3;
    private static final byte[] MAGIC = "apisix-session-runner handover ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private Handover() {
    }

    /** A conf token of the old runner and the PrepareConf frame that made it. */
    record Token(long token, A6Frame prepareConf) {
    }

    // ---- the old runner's side ----

    /** Answers one handover request on {@code channel}; false when the request is not understood. */
    static boolean answer(A6Frame request, SocketChannel channel, boolean stopping, List<ConfCache.Live> confs)
            throws IOException {
        int op = op(request);
        if (op == STATUS) {
            A6Frame.write(channel, FRAME, new byte[] {(byte) (stopping ? 1 : 0)});
            return true;
        }
        if (op != EXPORT && op != PEEK) {
            return false;
        }
        for (ConfCache.Live live : confs) {
            byte[] conf = prepareConf(live.source());
            ByteBuffer b = ByteBuffer.allocate(5 + conf.length).order(ByteOrder.BIG_ENDIAN);
            b.put((byte) 1).putInt((int) live.token()).put(conf);
            A6Frame.write(channel, FRAME, b.array());
        }
        A6Frame.write(channel, FRAME, new byte[] {0});
        return true;
    }

    /** The operation a request asks for, or -1 when it is not one. */
    static int op(A6Frame request) {
        byte[] p = request.payload();
        if (p.length != MAGIC.length + 1 || !Arrays.equals(p, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return -1;
        }
        return p[MAGIC.length];
    }

    static byte[] request(byte op) {
        byte[] p = Arrays.copyOf(MAGIC, MAGIC.length + 1);
        p[MAGIC.length] = op;
        return p;
    }

    /** A PrepareConf request (flatbuffer) for {@code source}. */
    static byte[] prepareConf(ConfCache.ConfSource source) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int[] entries = new int[source.entries().size()];
        for (int i = 0; i < entries.length; i++) {
            ConfCache.Entry e = source.entries().get(i);
            int name = b.createString(e.name());
            int value = b.createString(e.value());
            entries[i] = TextEntry.createTextEntry(b, name, value);
        }
        int conf = Req.createConfVector(b, entries);
        int key = b.createString(source.key());
        b.finish(Req.createReq(b, conf, key));
        return b.sizedByteArray();
    }

    // ---- the new runner's side ----

    /** A connection to the runner serving the path, opened before taking the path over. */
    static final class Predecessor implements AutoCloseable {
        private final SocketChannel channel;
        private final A6FrameReader reader;

        Predecessor(SocketChannel channel) {
            this.channel = channel;
            this.reader = new A6FrameReader(channel);
        }

        /**
         * Whether the old runner is stopping (it received SIGTERM and serves only until a successor
         * takes over); false also when it does not speak this exchange (an older version).
         */
        boolean stopping() {
            return within(2_000, () -> {
                A6Frame.write(channel, FRAME, request(STATUS));
                A6Frame reply = reader.read();
                return reply != null && reply.type() == FRAME && Arrays.equals(reply.payload(), new byte[] {1});
            }, false);
        }

        /**
         * The old runner's live tokens, which it then stops issuing (it drains); empty when it
         * cannot tell (then APISIX re-sends its confs).
         */
        List<Token> export() {
            return tokens(EXPORT);
        }

        /** The old runner's live tokens, while it serves on. */
        List<Token> peek() {
            return tokens(PEEK);
        }

        private List<Token> tokens(byte op) {
            return within(10_000, () -> {
                A6Frame.write(channel, FRAME, request(op));
                List<Token> out = new ArrayList<>();
                while (true) {
                    A6Frame frame = reader.read();
                    if (frame == null || frame.type() != FRAME || frame.payload().length == 0) {
                        return List.of();
                    }
                    byte[] p = frame.payload();
                    if (p[0] == 0) {
                        return out;
                    }
                    if (p.length < 5) {
                        return List.of();
                    }
                    long token = ByteBuffer.wrap(p, 1, 4).order(ByteOrder.BIG_ENDIAN).getInt() & 0xFFFF_FFFFL;
                    out.add(new Token(token, new A6Frame(A6Frame.RPC_PREPARE_CONF, Arrays.copyOfRange(p, 5, p.length))));
                }
            }, List.of());
        }

        private interface Exchange<T> {
            T run() throws IOException;
        }

        /** Runs {@code exchange}, closing the channel if it takes longer than {@code millis} (a hung old runner). */
        private <T> T within(long millis, Exchange<T> exchange, T fallback) {
            Thread guard = new Thread(() -> {
                try {
                    Thread.sleep(millis);
                    close();
                } catch (InterruptedException done) {
                    // finished in time
                }
            }, "a6-handover-guard");
            guard.setDaemon(true);
            guard.start();
            try {
                return exchange.run();
            } catch (IOException | RuntimeException e) {
                return fallback;
            } finally {
                guard.interrupt();
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing left to do
            }
        }
    }
}
