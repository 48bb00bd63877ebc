package io.github.apisixsession.simulator;

/** A simulated upstream service. */
@FunctionalInterface
public interface Upstream {
    UpstreamResponse handle(UpstreamRequest request) throws Exception;

    /** 200, {@code Content-Type: application/json}, body {@code {"ok":true}}. */
    static Upstream ok() {
        return req -> UpstreamResponse.json("{\"ok\":true}");
    }
}
