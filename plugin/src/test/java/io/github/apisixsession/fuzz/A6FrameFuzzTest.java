package io.github.apisixsession.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.apisixsession.apisix.A6FuzzAccess;
import java.util.Arrays;

/**
 * The A6 protocol as APISIX speaks it over the socket, in-process: the fuzzed bytes (after a first
 * byte that picks how many bytes each read hands out) go through {@code A6FrameReader} and
 * {@code RpcDispatcher} (PrepareConf, HTTPReqCall, HTTPRespCall flatbuffer decoding, ExtraInfo
 * answers read from the same stream) with the session plugin behind them.
 *
 * <p>Oracle: the stream ends cleanly, with a truncated frame (EOFException) or with a
 * MalformedRpcException, and nothing else escapes; every reply is a frame APISIX understands and
 * never SERVICE_UNAVAILABLE (an exception that escaped the engine); the JVM limits of the fuzz run
 * catch hangs; and reading a frame never allocates more heap than four times the bytes the peer
 * sent plus 1 MB (a 4-byte header announcing 16 MB must not allocate 16 MB). A failed ExtraInfo
 * exchange ends the stream without a reply, as A6Connection closes the connection then.
 */
class A6FrameFuzzTest {

    private static final int[] CHUNKS = {1 << 20, 1, 3, 4, 7, 64, 4096, 16 * 1024 + 5};

    @FuzzTest
    void serveStream(byte[] data) {
        if (data.length == 0) {
            return;
        }
        int chunk = CHUNKS[(data[0] & 0xFF) % CHUNKS.length];
        A6FuzzAccess.Outcome o = A6FuzzAccess.serve(Arrays.copyOfRange(data, 1, data.length), chunk);
        long bound = 4 * o.streamBytes() + A6FuzzAccess.READ_ALLOCATION_SLACK;
        if (o.maxReadAllocation() > bound) {
            throw new AssertionError("a frame read allocated " + o.maxReadAllocation() + " bytes for a stream of "
                    + o.streamBytes() + " bytes");
        }
    }
}
