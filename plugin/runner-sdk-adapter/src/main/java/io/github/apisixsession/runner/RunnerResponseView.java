package io.github.apisixsession.runner;

import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.ResponseView;
import java.util.List;
import org.apache.apisix.plugin.runner.PostRequest;

/** The captured upstream response of an HTTPRespCall, plus its variables. */
final class RunnerResponseView implements ResponseView {

    private final PostRequest request;
    private final UpstreamCapture.Captured upstream;

    RunnerResponseView(PostRequest request, UpstreamCapture.Captured upstream) {
        this.request = request;
        this.upstream = upstream;
    }

    @Override
    public int status() {
        return upstream.status();
    }

    @Override
    public List<HttpHeader> headers() {
        return upstream.headers();
    }

    @Override
    public String variable(String name) {
        return RunnerVars.decode(request.getVars(name));
    }
}
