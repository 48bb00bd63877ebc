package io.github.apisixsession.runner.e2e;

/** Post-resp answers on the released apisix-java-plugin-runner 0.4.0 with the session filter. */
class OfficialRunnerPostRespFramingIT extends PostRespFramingSuite {
    OfficialRunnerPostRespFramingIT() {
        super(Host.OFFICIAL);
    }
}
