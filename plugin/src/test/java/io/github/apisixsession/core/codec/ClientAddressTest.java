package io.github.apisixsession.core.codec;

import static io.github.apisixsession.core.codec.VectorSupport.HEX;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.apisixsession.simulator.NginxAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Client addresses against what nginx 1.22 printed for them (generate-bind/, nginx-remote-addr.jsonl). */
class ClientAddressTest {

    private static final List<JsonNode> FACTS = VectorSupport.load(VectorSupport.REMOTE_ADDR_RESOURCE);

    @Test
    void bytesRenderAsNginxPrintsRemoteAddr() {
        assertEquals(30, FACTS.size());
        for (JsonNode f : FACTS) {
            JsonNode c = f.get("client");
            byte[] bytes = HEX.parseHex(c.get("binary_remote_addr_hex").asText());
            assertEquals(c.get("remote_addr").asText(), ClientAddress.of(bytes), c.toString());
        }
    }

    @Test
    void anyFormOfAnAddressBecomesNginxsText() {
        for (JsonNode f : FACTS) {
            JsonNode c = f.get("client");
            String nginx = c.get("remote_addr").asText();
            assertEquals(nginx, ClientAddress.canonical(nginx), "stable: " + nginx);
            if (c.has("x_client_address")) {
                assertEquals(nginx, ClientAddress.canonical(c.get("x_client_address").asText()), c.toString());
            }
        }
        assertEquals("2001:db8::1", ClientAddress.canonical("[2001:db8::1]"));
        assertEquals("fe80::1", ClientAddress.canonical("fe80::1%eth0"));
        assertEquals("2001:db8::1", new Binding("2001:db8:0:0:0:0:0:1", null, null).remoteAddr());
    }

    @Test
    void textThatIsNoAddressIsKept() {
        for (String s : List.of("unix:", "", "localhost", "1.2.3", "1.2.3.256", "1::2::3", "1:2:3:4:5:6:7:8:9",
                "12345::1", "::g", ":1", "1:", "::+1", "1.2.3.4.5", "::1.2.3")) {
            assertEquals(s, ClientAddress.canonical(s));
        }
        assertEquals(null, ClientAddress.canonical(null));
        assertEquals("", ClientAddress.of(new byte[5]));
        assertEquals("", ClientAddress.of(null));
    }

    /** The simulator plays nginx: its address model must print what nginx printed. */
    @Test
    void theSimulatorPrintsWhatNginxPrinted() {
        for (JsonNode f : FACTS) {
            JsonNode c = f.get("client");
            byte[] bytes = HEX.parseHex(c.get("binary_remote_addr_hex").asText());
            assertEquals(c.get("remote_addr").asText(), NginxAddress.text(bytes), c.toString());
            if (c.has("x_client_address")) {
                assertArrayEquals(bytes, NginxAddress.binary(c.get("x_client_address").asText()), c.toString());
            }
        }
    }
}
