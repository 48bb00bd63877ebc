package io.github.apisixsession.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.apisixsession.core.HttpHeader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The response half's header list: engine's decision + what the request half kept. */
class MergeTest {
    private static final HttpHeader CT = new HttpHeader("Content-Type", "application/json");
    private static final HttpHeader TE = new HttpHeader("Transfer-Encoding", "chunked");
    private static final HttpHeader UP_COOKIE = new HttpHeader("Set-Cookie", "up=1");
    private static final HttpHeader REFRESH = new HttpHeader("Set-Cookie", "session=refreshed");
    private static final HttpHeader SESSION_ID = new HttpHeader("Session-Id", "old");
    private static final HttpHeader LOGIN = new HttpHeader("Set-Cookie", "session=login");

    @Test
    void keptHeadersFollowTheUpstreamsMinusHopByHop() {
        List<HttpHeader> upstream = List.of(CT, TE, UP_COOKIE);
        assertEquals(List.of(CT, UP_COOKIE, REFRESH, SESSION_ID),
                SessionPluginFilter.merge(upstream, upstream, List.of(REFRESH, SESSION_ID)));
    }

    @Test
    void cookiesTheEngineReEmittedItselfAreNotDoubled() {
        List<HttpHeader> upstream = List.of(CT);
        assertEquals(List.of(CT, REFRESH, SESSION_ID),
                SessionPluginFilter.merge(upstream, List.of(CT, REFRESH), List.of(REFRESH, SESSION_ID)));
    }

    @Test
    void aLoginSupersedesWhatTheRequestHalfDecided() {
        List<HttpHeader> upstream = List.of(CT, new HttpHeader("X-Session-Subject", "alice"));
        assertEquals(List.of(CT, LOGIN),
                SessionPluginFilter.merge(upstream, List.of(CT, LOGIN), List.of(REFRESH, SESSION_ID)));
    }
}
