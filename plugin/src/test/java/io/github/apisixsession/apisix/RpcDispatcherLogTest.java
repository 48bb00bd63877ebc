package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.api7.A6.Err.Code;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RpcDispatcherLogTest {

    /**
     * Found while fuzzing A6FrameFuzzTest: the PrepareConf error log quoted the plugin name as sent,
     * so a conf entry with name and value swapped put the conf, secret included, into the log.
     */
    @Test
    void aConfSentAsThePluginNameIsNotLogged() throws Exception {
        String marker = "S3CR3T-MARKER-in-a-swapped-conf-0123456789";
        String conf = "{\"secret\":\"" + marker + "\"}";
        RpcDispatcher dispatcher = new RpcDispatcher(Map.of("session", new NoopPlugin()),
                new ConfCache(HostSettings.of(Path.of("/nonexistent/test.sock"))));
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        A6Frame reply;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            reply = dispatcher.handle(new A6Frame(A6Frame.RPC_PREPARE_CONF,
                    TestGateway.prepareConfPayload("route#1", conf, "session")), null);
        } finally {
            System.setErr(err);
        }
        assertEquals(Code.BAD_REQUEST, TestGateway.errorCode(reply));
        String log = captured.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("unknown plugin"), log);
        assertFalse(log.contains(marker), log);
        assertEquals("session", RpcDispatcher.loggable("session"));
        assertEquals("ext-plugin_A.1", RpcDispatcher.loggable("ext-plugin_A.1"));
    }
}
