package io.github.apisixsession.hostile;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.HttpHeader;
import io.github.apisixsession.core.RequestDecision;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.SessionEngine;
import io.github.apisixsession.core.SessionRoute;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.StorageContext;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/** An engine with a hand-moved clock and the storages on the test classpath (the fuzz targets use it too). */
public final class HostileEngine implements AutoCloseable {
    public static final long T0 = 1_700_000_000L;
    public static final String SECRET = "hostile-secret-0123456789abcdef0123456789";
    public static final String OTHER_SECRET = "another-secret-0123456789abcdef0123456789";

    public final MovableClock clock = new MovableClock();
    public final SessionEngine engine = new SessionEngine(clock,
            SessionStorages.discover(new StorageContext(clock, Map.<String, String>of()::get)));
    public final SessionConfigParser parser = new SessionConfigParser(Map.<String, String>of()::get, engine.storages().names(),
            "process-secret-hostile");

    public SessionRoute route(String secret, String extraJson) throws ConfigException {
        return engine.prepare(parser.parse("{\"secret\":\"" + secret + "\",\"cookie_secure\":false,\"reject_status\":401"
                + (extraJson.isEmpty() ? "" : "," + extraJson) + "}"));
    }

    /** The subject the engine forwards upstream, or null when the request was refused or anonymous. */
    public static String subject(RequestDecision d) {
        if (d instanceof RequestDecision.Proceed p) {
            for (HttpHeader h : p.requestHeaders()) {
                if (h.is(SessionEngine.CONSUMER_USERNAME) && !h.isRemoval()) {
                    return h.value();
                }
            }
            return null;
        }
        return null;
    }

    public static boolean refused(RequestDecision d) {
        return d instanceof RequestDecision.Respond r && r.status() == 401;
    }

    public static List<String> setCookies(RequestDecision d) {
        List<HttpHeader> headers = d instanceof RequestDecision.Proceed p ? p.responseHeaders()
                : ((RequestDecision.Respond) d).headers();
        return headers.stream().filter(h -> h.is("Set-Cookie")).map(HttpHeader::value).toList();
    }

    /** The name=value pairs of the Set-Cookie headers that carry a value, joined as a browser would. */
    public static String cookieHeader(RequestDecision d) {
        StringBuilder sb = new StringBuilder();
        for (String sc : setCookies(d)) {
            String nv = sc.substring(0, sc.indexOf(';'));
            if (nv.endsWith("=")) {
                continue;
            }
            sb.append(sb.length() == 0 ? "" : "; ").append(nv);
        }
        return sb.toString();
    }

    @Override
    public void close() {
        engine.close();
    }

    public static final class MovableClock extends Clock {
        public volatile long now = T0;

        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(ZoneId zone) {
            return this;
        }

        public Instant instant() {
            return Instant.ofEpochSecond(now);
        }
    }
}
