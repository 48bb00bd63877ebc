package io.github.apisixsession.apisix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.api7.A6.HTTPReqCall.Action;
import io.github.api7.A6.HTTPReqCall.Resp;
import io.github.apisixsession.core.HttpHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class A6CodecTest {

    private static final List<HttpHeader> HEADERS = List.of(new HttpHeader("X-Consumer-Username", "fiona"),
            HttpHeader.remove("X-Credential-Identifier"), new HttpHeader("Session-Id", "abc"));
    private static final List<HttpHeader> RESPONSE = List.of(new HttpHeader("Set-Cookie", "session=x; Path=/"));

    /** Replies share the thread's builder: each must come out as if it had a builder of its own. */
    @Test
    void aReplyIsTheSameWhateverTheThreadEncodedBefore() {
        byte[] first = A6Codec.reqCallRewrite(7, HEADERS, RESPONSE);
        byte[] big = new byte[A6Codec.KEPT_BUILDER_CAPACITY * 2];
        big[big.length - 1] = 1;
        Resp stop = Resp.getRootAsResp(ByteBuffer.wrap(A6Codec.reqCallStop(8, 401, RESPONSE, big))
                .order(ByteOrder.LITTLE_ENDIAN));
        assertEquals(Action.Stop, stop.actionType());
        A6Codec.reqCallNone(9);
        A6Codec.extraInfoVar("consumer_name");
        assertArrayEquals(first, A6Codec.reqCallRewrite(7, HEADERS, RESPONSE));
        assertArrayEquals(first, onOtherThread(), "the same reply from a fresh builder");
    }

    private static byte[] onOtherThread() {
        byte[][] out = new byte[1][];
        Thread t = new Thread(() -> out[0] = A6Codec.reqCallRewrite(7, HEADERS, RESPONSE));
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        return out[0];
    }
}
