package io.github.apisixsession.runner.e2e;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;

/**
 * A runner application of one's own on {@code apisix-runner-core:0.4.0}, as the runner's
 * installation guide has it: the session filter is found by component scan. Its
 * {@code application.yaml} (test resources) maps APISIX's environment to the runner's settings.
 */
@SpringBootApplication(scanBasePackages = {"io.github.apisixsession", "org.apache.apisix.plugin.runner"})
public class ScanningRunnerApplication {

    public static void main(String[] args) {
        new SpringApplicationBuilder(ScanningRunnerApplication.class).web(WebApplicationType.NONE).run(args);
    }
}
