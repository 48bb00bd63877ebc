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

    /** {@code cookie_<name>} comes from {@code $http_cookie} when it was not fetched itself. */
    @Override
    public String variable(String name) {
        String raw = request.getVars(name);
        if (raw == null && name.startsWith("cookie_")) {
            return cookie(RunnerVars.decode(request.getVars(RunnerRequestView.COOKIE_VAR)),
                    name.substring("cookie_".length()));
        }
        return RunnerVars.decode(raw);
    }

    /** nginx's {@code $cookie_<name>}: the first cookie of that name in the header. */
    static String cookie(String header, String name) {
        for (String pair : header.split(";")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).trim().equals(name)) {
                return pair.substring(eq + 1).trim();
            }
        }
        return "";
    }
}
