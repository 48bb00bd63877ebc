package io.github.apisixsession.runner.e2e;

/**
 * The session flows on the released apisix-java-plugin-runner 0.4.0 with
 * session-plugin-for-java-runner.jar on its loader path (request half + post-resp half).
 */
class OfficialRunnerSessionFlowsIT extends SessionFlowsSuite {
    OfficialRunnerSessionFlowsIT() {
        super(Host.OFFICIAL);
    }
}
