package io.github.apisixsession.runner;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.env.Environment;

/**
 * Makes the runner's server bean a {@link CapturingApplicationRunner}: same server, same
 * handlers, except that an HTTPRespCall's upstream headers are read before the runner asks APISIX
 * for variables (see {@link UpstreamCapture}). Without it, a post-resp filter that needs a variable
 * cannot read the upstream's headers on runner 0.4.0. {@code apisix-session.runner-fix=false}
 * turns it off; the session filter then works in a degraded mode (docs/official-runner.md).
 */
public class OfficialRunnerFix implements BeanFactoryPostProcessor, EnvironmentAware {

    static final String PROPERTY = "apisix-session.runner-fix";
    static final String RUNNER_CLASS = "org.apache.apisix.plugin.runner.server.ApplicationRunner";

    private static final Logger LOG = LoggerFactory.getLogger(OfficialRunnerFix.class);
    private Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public void postProcessBeanFactory(ConfigurableListableBeanFactory factory) throws BeansException {
        if (environment != null && !environment.getProperty(PROPERTY, Boolean.class, true)) {
            LOG.warn("session: {}=false: upstream headers are not captured; the session filter's response "
                    + "half cannot re-emit them", PROPERTY);
            return;
        }
        int patched = 0;
        for (String name : factory.getBeanDefinitionNames()) {
            BeanDefinition def = factory.getBeanDefinition(name);
            if (RUNNER_CLASS.equals(def.getBeanClassName())) {
                def.setBeanClassName(CapturingApplicationRunner.class.getName());
                patched++;
            }
        }
        if (patched == 0) {
            LOG.warn("session: no bean of class {} found: upstream headers are not captured", RUNNER_CLASS);
        } else {
            LOG.info("session: the runner's RPC handler captures upstream headers before fetching variables");
        }
    }
}
