package io.github.apisixsession.runner;

import io.github.api7.A6.HTTPRespCall.Req;
import io.github.api7.A6.TextEntry;
import io.github.apisixsession.core.HttpHeader;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.apisix.plugin.runner.PostRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream's status and headers of an HTTPRespCall, read the moment the call arrives.
 *
 * <p>Runner 0.4.0 decodes an HTTPRespCall as a flatbuffer over Netty's pooled read buffer, which
 * goes back to the pool once the call has been handled. When a filter needs variables, the runner
 * first asks APISIX for them; the answers are read into that same memory, and
 * {@code PostRequest.getUpstreamHeaders()} then reads garbage (an {@code IndexOutOfBoundsException},
 * or wrong headers). {@link CapturingRpcCallHandler} calls {@link #capture} before the runner asks
 * for anything: it fills the runner's own caches ({@code getUpstreamHeaders()},
 * {@code getUpstreamStatusCode()}, so other filters work too) and keeps every header field in order,
 * repeated names included, which the runner's map would collapse.
 */
public final class UpstreamCapture {

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamCapture.class);
    private static final Field REQ = reqField();
    private static final Map<PostRequest, Captured> CAPTURED = Collections.synchronizedMap(new WeakHashMap<>());
    /** The call the runner is starting on this thread, while it asks the filters what to fetch. */
    private static final ThreadLocal<Captured> STARTING = new ThreadLocal<>();
    private static volatile boolean installed;

    /** What the upstream answered. */
    public record Captured(int status, List<HttpHeader> headers) {
    }

    private UpstreamCapture() {
    }

    /** Whether the runner's call handler captures HTTPRespCalls (the fix is in place). */
    public static boolean installed() {
        return installed;
    }

    static void markInstalled() {
        installed = true;
    }

    /** Reads the call while its buffer is still valid. */
    static void capture(PostRequest request) {
        Map<String, String> byName = request.getUpstreamHeaders();
        int status = request.getUpstreamStatusCode();
        List<HttpHeader> headers = new ArrayList<>();
        Req req = flatbuffer(request);
        if (req != null) {
            for (int i = 0; i < req.headersLength(); i++) {
                TextEntry e = req.headers(i);
                headers.add(new HttpHeader(e.name(), e.value()));
            }
        } else {
            byName.forEach((k, v) -> headers.add(new HttpHeader(k, v)));
        }
        Captured captured = new Captured(status, List.copyOf(headers));
        CAPTURED.put(request, captured);
        STARTING.set(captured);
    }

    /** The response of the HTTPRespCall being started on this thread, or null. */
    static Captured starting() {
        return STARTING.get();
    }

    /** The runner has started the call (its ExtraInfo requests are sent). */
    static void started() {
        STARTING.remove();
    }

    /** The captured response of this call (removed), or null when it was not captured. */
    static Captured take(PostRequest request) {
        return CAPTURED.remove(request);
    }

    private static Req flatbuffer(PostRequest request) {
        if (REQ == null) {
            return null;
        }
        try {
            return (Req) REQ.get(request);
        } catch (IllegalAccessException | ClassCastException e) {
            return null;
        }
    }

    private static Field reqField() {
        try {
            Field f = PostRequest.class.getDeclaredField("req");
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException | RuntimeException e) {
            LOG.warn("session: cannot read repeated upstream headers on this runner ({}); "
                    + "one value per header name is kept", e.toString());
            return null;
        }
    }
}
