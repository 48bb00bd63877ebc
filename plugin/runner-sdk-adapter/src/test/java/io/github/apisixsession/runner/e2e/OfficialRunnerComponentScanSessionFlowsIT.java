package io.github.apisixsession.runner.e2e;

/** The session flows on apisix-runner-core 0.4.0 in an application that component-scans the filter. */
class OfficialRunnerComponentScanSessionFlowsIT extends SessionFlowsSuite {
    OfficialRunnerComponentScanSessionFlowsIT() {
        super(Host.OFFICIAL_SCAN);
    }
}
