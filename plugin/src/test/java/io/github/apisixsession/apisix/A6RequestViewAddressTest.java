package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.apisixsession.core.codec.VectorSupport;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The request phase's client address is the text nginx printed as {@code $remote_addr} for the
 * same {@code $binary_remote_addr} (APISIX's {@code src_ip}), which is what the response phase asks
 * APISIX for and what lua-resty-session binds: measured facts, IPv4, IPv6 and IPv4-mapped.
 */
class A6RequestViewAddressTest {

    @Test
    void srcIpRendersAsNginxsRemoteAddr() {
        List<JsonNode> facts = VectorSupport.load(VectorSupport.REMOTE_ADDR_RESOURCE);
        for (JsonNode f : facts) {
            JsonNode c = f.get("client");
            byte[] srcIp = HexFormat.of().parseHex(c.get("binary_remote_addr_hex").asText());
            A6RequestView view = new A6RequestView(new A6Codec.ReqCallRequest(1, srcIp, "GET", "/", List.of(),
                    List.of(), 1), null);
            assertEquals(c.get("remote_addr").asText(), view.remoteAddress(), c.toString());
        }
    }

    @Test
    void aSrcIpOfAnotherLengthIsNoAddress() {
        A6RequestView view = new A6RequestView(new A6Codec.ReqCallRequest(1, new byte[0], "GET", "/", List.of(),
                List.of(), 1), null);
        assertEquals("", view.remoteAddress());
    }
}
