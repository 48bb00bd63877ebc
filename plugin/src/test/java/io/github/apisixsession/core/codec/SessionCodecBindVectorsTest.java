package io.github.apisixsession.core.codec;

import static io.github.apisixsession.core.codec.VectorSupport.HEX;
import static io.github.apisixsession.core.codec.VectorSupport.cookieMap;
import static io.github.apisixsession.core.codec.VectorSupport.parseCookieHeader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.apisixsession.core.codec.VectorSupport.Cfg;
import io.github.apisixsession.core.codec.VectorSupport.Opened;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Cookies the real lua-resty-session 4.1.5 issued with {@code bind} to IPv4 and IPv6 clients, and
 * what it answered when they came back from the same or another client. Each is opened with the
 * binding each phase builds: the request phase from APISIX's {@code src_ip} bytes, the response
 * phase from the {@code remote_addr} variable, and from the long form Java prints for the bytes.
 */
class SessionCodecBindVectorsTest {

    private static final List<JsonNode> VECTORS = VectorSupport.load(VectorSupport.BIND_RESOURCE);

    static Stream<Arguments> vectors() {
        return VECTORS.stream().map(v -> Arguments.of(v.get("id").asText(), v));
    }

    @Test
    void vectorsCoverIpv4Ipv6AndMappedClientsWithEveryBinding() {
        assertEquals(12, VECTORS.size());
        List<String> issuers = VECTORS.stream().map(v -> v.at("/issue/client/remote_addr").asText()).toList();
        assertTrue(issuers.containsAll(List.of("127.0.0.1", "::1", "2001:db8::1", "::ffff:127.0.0.1")), issuers.toString());
        assertTrue(VECTORS.stream().anyMatch(v -> v.at("/issue/flags").asInt() == Binding.FLAGS));
        assertTrue(VECTORS.stream().flatMap(v -> v.get("opens").findValues("expect").stream())
                .anyMatch(e -> !e.get("exists").asBoolean()), "some opens must be refused");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void opensWhereTheLibraryOpenedItWithEveryPhasesBinding(String id, JsonNode v) throws Exception {
        Cfg cfg = new Cfg(v.get("config"));
        JsonNode issue = v.get("issue");
        Map<String, String> issued = cookieMap(issue.get("cookies"));
        assertEquals(issue.get("flags").asInt(), cfg.codec.verifyHeader(issued.get(cfg.cookieName), false, false,
                cfg.timeouts, issue.get("now").asLong(), bindings(issue.get("client"), issue).get(0)).header().flags());
        for (JsonNode open : v.get("opens")) {
            Map<String, String> sent = parseCookieHeader(open.get("cookie_header").asText());
            JsonNode expect = open.get("expect");
            for (Binding binding : bindings(open.get("client"), open)) {
                String where = id + " from " + open.get("client") + " as " + binding.remoteAddr();
                if (expect.get("exists").asBoolean()) {
                    Opened opened = openBound(cfg, sent, open.get("now").asLong(), binding);
                    assertEquals(expect.get("subject").asText(), opened.entry().get(2).asText(), where);
                    assertEquals(expect.get("data"), opened.entry().get(0), where);
                } else {
                    SessionCodecException e = assertThrows(SessionCodecException.class,
                            () -> openBound(cfg, sent, open.get("now").asLong(), binding), where);
                    assertEquals(expect.get("err").asText(), e.reason(), where);
                }
            }
        }
    }

    /**
     * The bindings the phases build for one client: from its {@code $binary_remote_addr} bytes
     * (request phase), from nginx's {@code $remote_addr} text (response phase) and, for IPv6, from
     * the long form Java prints for the bytes (what the request phase used to send).
     */
    private static List<Binding> bindings(JsonNode client, JsonNode step) throws Exception {
        byte[] bytes = HEX.parseHex(client.get("binary_remote_addr_hex").asText());
        String scheme = client.get("scheme").asText();
        String ua = step.path("request_headers").path("User-Agent").asText(null);
        Binding request = new Binding(ClientAddress.of(bytes), scheme, ua);
        Binding response = new Binding(client.get("remote_addr").asText(), scheme, ua);
        InetAddress java = InetAddress.getByAddress(bytes);
        boolean mapped = bytes.length == 16 && java.getAddress().length == 4;
        return mapped ? List.of(request, response)
                : List.of(request, response, new Binding(java.getHostAddress(), scheme, ua));
    }

    private static Opened openBound(Cfg cfg, Map<String, String> cookies, long now, Binding binding)
            throws SessionCodecException {
        String value = cookies.get(cfg.cookieName);
        SessionCodec.Verified verified = cfg.codec.verifyHeader(value, false, false, cfg.timeouts, now, binding);
        String payload = CookieChunker.join(cfg.cookieName, value, verified.header().dataSize(), cookies::get);
        byte[] plaintext = cfg.codec.decrypt(verified, payload, KeyDerivation.HKDF);
        JsonNode entries;
        try {
            entries = VectorSupport.JSON.readTree(plaintext);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return new Opened(verified, cfg.cookieName, false, payload, plaintext, entries, entries.get(0));
    }
}
