package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.api7.A6.Err.Code;
import io.github.api7.A6.HTTPReqCall.Action;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The server's process life: publishing the socket, draining, taking over from another runner, fatal errors. */
@Timeout(60)
class ServerLifecycleTest {

    @TempDir
    Path dir;

    private final List<ExtPluginServer> servers = new ArrayList<>();
    private final AtomicReference<VirtualMachineError> fatal = new AtomicReference<>();
    private final CountDownLatch holding = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);

    /** Waits like a plugin waiting on its storage, until the test releases it. */
    private final TestPlugin hold = TestPlugin.onRequest("hold", (config, r) -> {
        holding.countDown();
        assertTrue(release.await(20, TimeUnit.SECONDS));
        return RequestDecision.PROCEED;
    });

    private final TestPlugin echo = TestPlugin.onRequest("echo", (config, r) -> new RequestDecision.Proceed(
            List.of(new HttpHeader("x-var", r.variable(config))), List.of()));

    private final TestPlugin oom = TestPlugin.onRequest("oom", (config, r) -> {
        throw new OutOfMemoryError("test: Java heap space");
    });

    private final TestPlugin deep = TestPlugin.onRequest("deep", (config, r) -> {
        throw new StackOverflowError("test");
    });

    private Path socket() {
        return dir.resolve("a6.sock");
    }

    private HostSettings settings() {
        return HostSettings.of(socket()).withLifecycle(true, Duration.ZERO, Duration.ofSeconds(10));
    }

    private ExtPluginServer start(HostSettings settings) throws IOException {
        ExtPluginServer s = ExtPluginServer.open(settings, HostMetrics.NONE, fatal::set);
        servers.add(s);
        s.serve(List.of(new NoopPlugin(), hold, echo, oom, deep));
        return s;
    }

    @AfterEach
    void stopAll() {
        release.countDown();
        servers.forEach(s -> s.shutdown(Duration.ofSeconds(1)));
    }

    private static CompletableFuture<Void> inBackground(Runnable r) {
        return CompletableFuture.runAsync(r, runnable -> {
            Thread t = new Thread(runnable, "test-background");
            t.setDaemon(true);
            t.start();
        });
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            Thread.sleep(5);
        }
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    private static byte noop(TestGateway gw, long token) throws IOException {
        return gw.reqCall(token, TestGateway.Request.get("/"), Map.of(), null).reqResp().actionType();
    }

    private static void assertLastReply(TestGateway gw) throws IOException {
        assertEquals(1, gw.bytesUntilEnd(), "one stray byte after the last reply, then the end of the stream");
    }

    // ---- draining ----

    /** APISIX may send an RPC on a pooled connection just as the runner begins to stop: it is answered. */
    @Test
    void anRpcArrivingOnAnIdleConnectionAfterShutdownBeganIsAnswered() throws Exception {
        ExtPluginServer server = start(settings());
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "noop", "");
            CompletableFuture<Void> stopping = inBackground(() -> server.shutdown(Duration.ofSeconds(10)));
            await("the socket file is gone", () -> !Files.exists(socket()));
            assertEquals(Action.NONE, noop(gw, token), "answered although the server is stopping");
            assertLastReply(gw);
            stopping.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void anRpcWaitingOnStorageOrOnAnExtraInfoAnswerIsAnsweredBeforeTheServerStops() throws Exception {
        ExtPluginServer server = start(settings());
        try (TestGateway held = TestGateway.connect(socket()); TestGateway asking = TestGateway.connect(socket())) {
            long holdToken = held.prepareConf("h", "hold", "");
            long echoToken = asking.prepareConf("e", "echo", "request_id");
            held.send(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(holdToken, TestGateway.Request.get("/")));
            assertTrue(holding.await(10, TimeUnit.SECONDS));
            asking.send(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(echoToken, TestGateway.Request.get("/")));
            assertEquals(A6Frame.RPC_EXTRA_INFO, asking.read().type(), "the plugin waits for request_id");

            CompletableFuture<Void> stopping = inBackground(() -> server.shutdown(Duration.ofSeconds(10)));
            await("the socket file is gone", () -> !Files.exists(socket()));
            Thread.sleep(2 * Drain.QUIET.toMillis());
            assertFalse(stopping.isDone(), "the server waits for both RPCs");

            asking.answerExtraInfo("r-1".getBytes(StandardCharsets.UTF_8));
            A6Frame echoed = asking.read();
            assertEquals(A6Frame.RPC_HTTP_REQ_CALL, echoed.type(), "the ExtraInfo RPC got its reply");
            release.countDown();
            assertEquals(A6Frame.RPC_HTTP_REQ_CALL, held.read().type(), "the storage-bound RPC got its reply");
            stopping.get(10, TimeUnit.SECONDS);
            assertLastReply(held);
            assertLastReply(asking);
        }
    }

    @Test
    void quietConnectionsAreClosedAndNewConnectsFindNoSocket() throws Exception {
        ExtPluginServer server = start(settings());
        try (TestGateway idle = TestGateway.connect(socket())) {
            idle.prepareConf("k", "noop", "");
            server.shutdown(Duration.ofSeconds(10));
            assertNull(idle.read(), "the quiet connection is closed");
            assertFalse(Files.exists(socket()), "the socket file is deleted");
        }
    }

    // ---- publishing the socket ----

    /** The socket file appears under its name already with its mode: never with the umask's. */
    @Test
    void theSocketIsNeverSeenWithAnotherModeThanItsOwn() throws Exception {
        Set<PosixFilePermission> mode = HostSettings.parseMode("0604");
        AtomicBoolean watching = new AtomicBoolean(true);
        List<String> seen = new ArrayList<>();
        Thread watcher = new Thread(() -> {
            while (watching.get()) {
                try {
                    Set<PosixFilePermission> now = Files.getPosixFilePermissions(socket(), LinkOption.NOFOLLOW_LINKS);
                    if (!now.equals(mode)) {
                        seen.add(java.nio.file.attribute.PosixFilePermissions.toString(now));
                    }
                } catch (IOException absent) {
                    // not there (yet, or any more)
                }
            }
        });
        watcher.start();
        try {
            for (int i = 0; i < 40; i++) {
                ExtPluginServer s = start(settings().withSocketMode(mode));
                s.shutdown(Duration.ZERO);
            }
        } finally {
            watching.set(false);
            watcher.join();
        }
        assertEquals(List.of(), seen, "modes seen under the socket's name");
    }

    @Test
    void aDeletedSocketFileIsPublishedAgain() throws Exception {
        start(settings());
        Files.delete(socket());
        await("the socket is back", () -> Files.exists(socket()));
        try (TestGateway gw = TestGateway.connect(socket())) {
            assertTrue(gw.prepareConf("k", "noop", "") > 0);
        }
    }

    // ---- taking over ----

    @Test
    void aNewServerTakesThePathOverAnswersTheOldTokensAndTheOldOneDrainsWithoutDeletingIt() throws Exception {
        ExtPluginServer old = start(settings());
        try (TestGateway pooled = TestGateway.connect(socket())) {
            long token = pooled.prepareConf("route#1#ext-plugin-pre-req#1", "noop", "");
            Object oldKey = fileKey(socket());

            ExtPluginServer successor = start(settings());
            assertFalse(oldKey.equals(fileKey(socket())), "the path names the new socket");
            try (TestGateway fresh = TestGateway.connect(socket())) {
                assertEquals(Action.NONE, noop(fresh, token), "the new runner answers the old runner's token");
            }
            await("the old runner drains", old::draining);
            assertEquals(Action.NONE, noop(pooled, token), "the old runner answers on its open connection");
            assertLastReply(pooled);
            old.awaitTermination();
            assertTrue(Files.exists(socket()), "the old runner left the new socket alone");
            try (TestGateway fresh = TestGateway.connect(socket())) {
                assertEquals(Action.NONE, noop(fresh, token));
            }
            assertTrue(successor.connectionCount() >= 0);
        }
    }

    @Test
    void aStoppingServerIsTakenOverAtOnceBeforeTheNewOneIsReady() throws Exception {
        ExtPluginServer old = start(settings().withLifecycle(true, Duration.ofSeconds(30), Duration.ofSeconds(10)));
        long token;
        try (TestGateway gw = TestGateway.connect(socket())) {
            token = gw.prepareConf("k", "noop", "");
        }
        CompletableFuture<Void> sigterm = inBackground(old::stop);
        Thread.sleep(100);
        assertFalse(sigterm.isDone(), "the old server serves on while no successor took over");
        try (TestGateway gw = TestGateway.connect(socket())) {
            assertEquals(Action.NONE, noop(gw, token), "and answers");
        }
        ExtPluginServer successor = ExtPluginServer.open(settings(), HostMetrics.NONE, fatal::set);
        servers.add(successor);
        sigterm.get(10, TimeUnit.SECONDS);
        // the successor published before it had plugins: an RPC waits for them instead of failing
        TestGateway early = TestGateway.connect(socket());
        CompletableFuture<Byte> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return noop(early, token);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        assertFalse(answer.isDone(), "waits for the plugins");
        successor.serve(List.of(new NoopPlugin()));
        assertEquals((Byte) Action.NONE, answer.get(10, TimeUnit.SECONDS), "the old token, answered by the new runner");
        early.close();
    }

    @Test
    void theSuccessorIsNotTheOnlyOneToAnswerTokensItIssued() throws Exception {
        start(settings());
        ExtPluginServer successor = start(settings());
        try (TestGateway gw = TestGateway.connect(socket())) {
            long token = gw.prepareConf("k", "noop", "");
            assertEquals(Action.NONE, noop(gw, token));
            assertEquals(Code.CONF_TOKEN_NOT_FOUND,
                    gw.reqCall(token + 1 == 0 ? 1 : token + 1, TestGateway.Request.get("/"), Map.of(), null).errorCode(),
                    "a neighbouring token names nothing");
        }
        assertNotNull(successor);
    }

    // ---- errors ----

    @Test
    void anOutOfMemoryErrorEndsTheRunnerAndAStackOverflowInAPluginIsAnErrorFrame() throws Exception {
        start(settings());
        try (TestGateway gw = TestGateway.connect(socket())) {
            long deepToken = gw.prepareConf("d", "deep", "");
            assertEquals(Code.SERVICE_UNAVAILABLE,
                    gw.reqCall(deepToken, TestGateway.Request.get("/"), Map.of(), null).errorCode());
            assertNull(fatal.get(), "a plugin's StackOverflowError is not fatal");
            long token = gw.prepareConf("o", "oom", "");
            gw.send(A6Frame.RPC_HTTP_REQ_CALL, TestGateway.reqCallPayload(token, TestGateway.Request.get("/")));
            await("the fatal handler ran", () -> fatal.get() != null);
            assertSame(OutOfMemoryError.class, fatal.get().getClass());
        }
    }
}
