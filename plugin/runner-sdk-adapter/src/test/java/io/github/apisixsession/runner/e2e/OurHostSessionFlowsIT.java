package io.github.apisixsession.runner.e2e;

/** The session flows on our host (one request-phase RPC per request). */
class OurHostSessionFlowsIT extends SessionFlowsSuite {
    OurHostSessionFlowsIT() {
        super(Host.OURS);
    }
}
