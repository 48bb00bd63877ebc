package io.github.apisixsession.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.HTTPReqCall.Req;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.Map;
import org.apache.apisix.plugin.runner.HttpRequest;
import org.junit.jupiter.api.Test;

/**
 * Under the official runner the request phase reads {@code src_ip} through runner 0.4.0's
 * {@code getSourceIP()} (dotted byte values); it must still give nginx's {@code $remote_addr}, as
 * the response phase does. Pairs measured on nginx 1.22 (plugin's nginx-remote-addr.jsonl).
 */
class RunnerRequestViewAddressTest {

    private static final Map<String, String> NGINX = Map.of(
            "7f000001", "127.0.0.1",
            "00000000000000000000000000000001", "::1",
            "20010db8000000000000000000000001", "2001:db8::1",
            "20010db8000000000001000000000001", "2001:db8::1:0:0:1",
            "00000000000000000000ffff7f000001", "::ffff:127.0.0.1",
            "20010db885a3000000008a2e03707334", "2001:db8:85a3::8a2e:370:7334");

    @Test
    void sourceIpRendersAsNginxsRemoteAddr() {
        NGINX.forEach((hex, nginx) -> assertEquals(nginx, view(HexFormat.of().parseHex(hex)).remoteAddress(), hex));
    }

    private static RunnerRequestView view(byte[] srcIp) {
        FlatBufferBuilder b = new FlatBufferBuilder(64);
        int ip = Req.createSrcIpVector(b, srcIp);
        Req.startReq(b);
        Req.addSrcIp(b, ip);
        b.finish(Req.endReq(b));
        return new RunnerRequestView(new HttpRequest(Req.getRootAsReq(ByteBuffer.wrap(b.sizedByteArray()))));
    }
}
