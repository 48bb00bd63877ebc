package io.github.apisixsession.runner.e2e;

/** Post-resp answers on our host, the same assertions as on the official runner. */
class OurHostPostRespFramingIT extends PostRespFramingSuite {
    OurHostPostRespFramingIT() {
        super(Host.OURS);
    }
}
