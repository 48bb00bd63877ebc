package io.github.apisixsession.runner;

import com.google.common.cache.Cache;
import org.apache.apisix.plugin.runner.A6Conf;
import org.apache.apisix.plugin.runner.A6ConfigWatcher;
import org.apache.apisix.plugin.runner.filter.PluginFilter;
import org.apache.apisix.plugin.runner.handler.RpcCallHandler;
import org.apache.apisix.plugin.runner.server.ApplicationRunner;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;

/** The runner's server, building {@link CapturingRpcCallHandler}s instead of plain ones. */
public class CapturingApplicationRunner extends ApplicationRunner {

    @Autowired
    public CapturingApplicationRunner(Cache<Long, A6Conf> cache, ObjectProvider<PluginFilter> filterProvider,
                                      ObjectProvider<A6ConfigWatcher> watcherProvider) {
        super(cache, filterProvider, watcherProvider);
    }

    @Override
    public RpcCallHandler createA6HttpHandler(Cache<Long, A6Conf> cache) {
        return new CapturingRpcCallHandler(cache);
    }
}
