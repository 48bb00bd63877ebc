package io.github.apisixsession.apisix;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.ExtraInfo.Resp;
import io.github.api7.A6.HTTPReqCall.Req;
import java.io.IOException;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * {@code cds-archive}: what a start does, once, so that a JVM run with
 * {@code -XX:ArchiveClassesAtExit=apisix-session-runner.jsa} records the classes it loads in a
 * class-data sharing archive. The runner publishes a socket in a temporary folder, loads the
 * plugins, and answers over it a PrepareConf of a session conf and one HTTPReqCall (as APISIX
 * would, ExtraInfo included); then it stops. A runner started with
 * {@code -XX:SharedArchiveFile=apisix-session-runner.jsa} maps those classes instead of loading them.
 */
final class CdsTraining {

    private CdsTraining() {
    }

    static int run(PrintStream out, PrintStream err) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("apisix-session-cds-");
            HostSettings settings = HostSettings.of(dir.resolve("runner.sock"))
                    .withLifecycle(false, Duration.ZERO, Duration.ofSeconds(1));
            ExtPluginServer server = ExtPluginServer.open(settings, PrometheusMetrics.shared(), FatalErrors::exit);
            try {
                server.serve(RunnerMain.discoverPlugins());
                exercise(settings.socketPath());
            } finally {
                server.shutdown(Duration.ofSeconds(1));
            }
            out.println("apisix-session-runner: started, served one request and stopped; "
                    + "with -XX:ArchiveClassesAtExit=<file> the JVM now writes the class-data archive");
            return 0;
        } catch (IOException | RuntimeException e) {
            err.println("apisix-session-runner: cds-archive: " + e);
            return RunnerMain.EXIT_FAILURE;
        } finally {
            if (dir != null) {
                try {
                    Files.deleteIfExists(dir.resolve("runner.sock"));
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    // a temporary folder left behind
                }
            }
        }
    }

    private static void exercise(Path socket) throws IOException {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        String conf = "{\"secret\": \"" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret)
                + "\", \"anonymous_consumer\": \"anon\", \"reject_status\": 401}";
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            A6FrameReader reader = new A6FrameReader(channel);
            A6Frame.write(channel, A6Frame.RPC_PREPARE_CONF, Handover.prepareConf(new ConfCache.ConfSource(
                    "route#cds#ext-plugin-post-req#1", List.of(new ConfCache.Entry("session", conf)))));
            A6Frame prepared = reader.read();
            if (prepared == null || prepared.type() != A6Frame.RPC_PREPARE_CONF) {
                throw new IOException("the session conf was not accepted");
            }
            long token = io.github.api7.A6.PrepareConf.Resp.getRootAsResp(
                    ByteBuffer.wrap(prepared.payload()).order(ByteOrder.LITTLE_ENDIAN)).confToken();
            A6Frame.write(channel, A6Frame.RPC_HTTP_REQ_CALL, reqCall(token));
            A6Frame frame;
            while ((frame = reader.read()) != null && frame.type() == A6Frame.RPC_EXTRA_INFO) {
                FlatBufferBuilder b = new FlatBufferBuilder(16);
                Resp.startResp(b);
                b.finish(Resp.endResp(b));
                A6Frame.write(channel, A6Frame.RPC_EXTRA_INFO, b.sizedByteArray()); // no value
            }
        }
    }

    /** {@code GET /app/x} from 127.0.0.1 without a cookie. */
    private static byte[] reqCall(long token) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int ip = Req.createSrcIpVector(b, new byte[] {127, 0, 0, 1});
        int path = b.createString("/app/x");
        int args = Req.createArgsVector(b, new int[0]);
        int host = io.github.api7.A6.TextEntry.createTextEntry(b, b.createString("host"), b.createString("localhost"));
        int headers = Req.createHeadersVector(b, new int[] {host});
        b.finish(Req.createReq(b, 1, ip, io.github.api7.A6.Method.GET, path, args, headers, token));
        return b.sizedByteArray();
    }
}
