package io.github.apisixsession.runner;

import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Registered in {@code META-INF/spring.factories}, so the filter is there when this jar is merely
 * on the runner's classpath (the stock runner scans only {@code org.apache.apisix.plugin.runner});
 * a runner that component-scans {@code io.github.apisixsession} gets the same single bean.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = OfficialRunnerFix.RUNNER_CLASS)
public class SessionPluginAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(SessionPluginFilter.class)
    public SessionPluginFilter sessionPluginFilter() {
        return new SessionPluginFilter();
    }

    @Bean
    public static BeanFactoryPostProcessor apisixSessionRunnerFix() {
        return new OfficialRunnerFix();
    }
}
