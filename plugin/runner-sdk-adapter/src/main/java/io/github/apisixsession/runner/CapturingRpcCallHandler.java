package io.github.apisixsession.runner;

import com.google.common.cache.Cache;
import io.netty.channel.ChannelHandlerContext;
import org.apache.apisix.plugin.runner.A6Conf;
import org.apache.apisix.plugin.runner.A6Request;
import org.apache.apisix.plugin.runner.HttpRequest;
import org.apache.apisix.plugin.runner.PostRequest;
import org.apache.apisix.plugin.runner.handler.RpcCallHandler;

/**
 * The runner's RPC handler, plus two things before it handles a call: an HTTPRespCall's upstream
 * response is {@linkplain UpstreamCapture captured} while its buffer is valid, and the phase of the
 * call is known to {@link RunnerPhase} while the runner collects the filters' required variables.
 */
public class CapturingRpcCallHandler extends RpcCallHandler {

    public CapturingRpcCallHandler(Cache<Long, A6Conf> cache) {
        super(cache);
        UpstreamCapture.markInstalled();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, A6Request request) {
        RunnerPhase phase = null;
        if (request instanceof PostRequest post) {
            UpstreamCapture.capture(post);
            phase = RunnerPhase.RESPONSE;
        } else if (request instanceof HttpRequest) {
            phase = RunnerPhase.REQUEST;
        }
        RunnerPhase.enter(phase);
        try {
            super.channelRead0(ctx, request);
        } finally {
            RunnerPhase.enter(null);
            UpstreamCapture.started();
        }
    }
}
