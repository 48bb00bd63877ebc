package io.github.apisixsession.apisix;

import io.github.apisixsession.core.SessionMetrics;
import io.github.apisixsession.storage.cache.ClientCacheBean;
import io.github.apisixsession.storage.cache.CoherentCache;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrometheusMetricsTest {

    @Test
    void everyPublishedClientCacheIsRenderedWhileItsStorageIsOpen() {
        CoherentCache.Counters counters = new CoherentCache.Counters(7, 3, 2, 5, 1, 4, 4096);
        String storage = "127.0.0.1:6379 prefix \"odd\"\\";
        String series;
        try (ClientCacheBean bean = ClientCacheBean.publish("ProbeClientCache", storage, () -> true, () -> counters)) {
            String labels = "{cache=\"probe\",id=\"" + bean.name().getKeyProperty("id")
                    + "\",storage=\"127.0.0.1:6379 prefix \\\"odd\\\"\\\\\"}";
            String text = new PrometheusMetrics().render();
            for (String line : new String[] {"apisix_session_storage_cache_hits_total" + labels + " 7",
                "apisix_session_storage_cache_misses_total" + labels + " 3",
                "apisix_session_storage_cache_bypassed_total" + labels + " 2",
                "apisix_session_storage_cache_invalidations_total" + labels + " 5",
                "apisix_session_storage_cache_resets_total" + labels + " 1",
                "apisix_session_storage_cache_entries" + labels + " 4",
                "apisix_session_storage_cache_bytes" + labels + " 4096",
                "apisix_session_storage_cache_tracking" + labels + " 1"}) {
                assertTrue(text.contains("\n" + line + "\n"), line + " in\n" + text);
            }
            assertTrue(text.contains("# TYPE apisix_session_storage_cache_hits_total counter\n"), text);
            assertTrue(text.contains("# TYPE apisix_session_storage_cache_entries gauge\n"), text);
            series = "id=\"" + bean.name().getKeyProperty("id") + "\"";
        }
        assertFalse(new PrometheusMetrics().render().contains(series), "gone with its storage");
    }

    @Test
    void aClientCacheNeverReadIsLeftOut() {
        CoherentCache.Counters unread = new CoherentCache.Counters(0, 0, 0, 3, 1, 0, 0);
        try (ClientCacheBean bean = ClientCacheBean.publish("ProbeClientCache", "used for shared state only",
                () -> false, () -> unread)) {
            assertFalse(new PrometheusMetrics().render().contains("storage=\"used for shared state only\""),
                    "a cache that never served a read shows no series (no false 'tracking 0' alarm)");
        }
    }

    @Test
    void countersAndHistogramInTextFormat() {
        PrometheusMetrics m = new PrometheusMetrics();
        m.created();
        m.created();
        m.refreshed();
        m.rejected(SessionMetrics.Rejection.EXPIRED);
        m.refused(SessionMetrics.Rejection.EXPIRED);
        m.refused(SessionMetrics.Rejection.NO_SESSION);
        m.storageLatency("get", 300_000, false); // 0.3 ms
        m.storageLatency("get", 2_000_000_000L, true); // 2 s, failed
        m.storageLatency("set", 10_000, true); // failed at once by the open circuit
        m.storageCircuitOpen("set");
        String text = m.render();
        assertTrue(text.contains("\napisix_session_created_total 2\n"), text);
        assertTrue(text.contains("\napisix_session_refreshed_total 1\n"), text);
        assertTrue(text.contains("apisix_session_rejected_total{reason=\"expired\"} 1\n"), text);
        assertTrue(text.contains("apisix_session_rejected_total{reason=\"invalid\"} 0\n"), text);
        assertTrue(!text.contains("apisix_session_rejected_total{reason=\"no_session\"}"), "no token is not a rejected token");
        assertTrue(text.contains("apisix_session_refused_total{reason=\"expired\"} 1\n"), text);
        assertTrue(text.contains("apisix_session_refused_total{reason=\"no_session\"} 1\n"), text);
        assertTrue(text.contains("apisix_session_refused_total{reason=\"invalid\"} 0\n"), text);
        assertTrue(text.contains("apisix_session_storage_seconds_bucket{operation=\"get\",le=\"2.5E-4\"} 0\n"), text);
        assertTrue(text.contains("apisix_session_storage_seconds_bucket{operation=\"get\",le=\"5.0E-4\"} 1\n"), text);
        assertTrue(text.contains("apisix_session_storage_seconds_bucket{operation=\"get\",le=\"+Inf\"} 2\n"), text);
        assertTrue(text.contains("apisix_session_storage_seconds_count{operation=\"get\"} 2\n"), text);
        assertTrue(text.contains("apisix_session_storage_errors_total{operation=\"get\"} 1\n"), text);
        assertTrue(text.contains("apisix_session_storage_errors_total{operation=\"set\"} 1\n"), text);
        assertTrue(text.contains("# TYPE apisix_session_storage_circuit_open_total counter\n"
                + "apisix_session_storage_circuit_open_total{operation=\"set\"} 1\n"), text);
    }

    @Test
    void endpointServesOnLoopbackOnly() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> MetricsEndpoint.parse("0.0.0.0:9464"));
        assertThrows(IllegalArgumentException.class, () -> MetricsEndpoint.parse("127.0.0.1"));
        assertThrows(IllegalArgumentException.class, () -> MetricsEndpoint.parse("127.0.0.1:99999"));
        PrometheusMetrics m = new PrometheusMetrics();
        m.loggedOut();
        try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1:0", m)) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + endpoint.address().getPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
            assertTrue(r.body().contains("apisix_session_logged_out_total 1"));
        }
    }
}
