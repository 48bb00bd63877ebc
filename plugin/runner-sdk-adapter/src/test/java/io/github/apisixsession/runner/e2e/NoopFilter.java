package io.github.apisixsession.runner.e2e;

import org.apache.apisix.plugin.runner.HttpRequest;
import org.apache.apisix.plugin.runner.HttpResponse;
import org.apache.apisix.plugin.runner.filter.PluginFilter;
import org.apache.apisix.plugin.runner.filter.PluginFilterChain;
import org.springframework.stereotype.Component;

/**
 * The official runner's baseline for the benchmark: a filter that lets everything through, like
 * our host's {@code noop} plugin. Only in test classes, so only {@link ScanningRunnerApplication}
 * has it.
 */
@Component
public class NoopFilter implements PluginFilter {

    @Override
    public String name() {
        return "noop";
    }

    @Override
    public void filter(HttpRequest request, HttpResponse response, PluginFilterChain chain) {
        chain.filter(request, response);
    }
}
