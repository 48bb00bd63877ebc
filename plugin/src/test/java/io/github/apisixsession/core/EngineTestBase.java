package io.github.apisixsession.core;

import io.github.apisixsession.core.config.ConfigException;
import io.github.apisixsession.core.config.SessionConfigParser;
import io.github.apisixsession.core.persistence.SessionStorages;
import io.github.apisixsession.storage.SessionMetadata;
import io.github.apisixsession.storage.SessionStorage;
import io.github.apisixsession.storage.SessionStorageProvider;
import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageContext;
import io.github.apisixsession.storage.StorageException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine with a fixed clock, real storages from the classpath and a switchable outage storage. */
abstract class EngineTestBase {

    static final long T0 = 1_700_000_000L;
    static final String SECRET = "engine-test-secret-0123456789abcdef";

    final TestClock clock = new TestClock(T0);
    final OutageProvider outage = new OutageProvider();
    final SessionEngine engine = new SessionEngine(clock, storages());

    SessionStorages storages() {
        List<SessionStorageProvider> providers = new ArrayList<>();
        ServiceLoader.load(SessionStorageProvider.class).forEach(providers::add);
        providers.add(outage);
        return new SessionStorages(providers, new StorageContext(clock, Map.of("ENV_SECRET", SECRET)::get));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    SessionRoute route(String extraJson) throws ConfigException {
        String json = "{\"secret\":\"" + SECRET + "\",\"cookie_secure\":false" + (extraJson.isEmpty() ? "" : "," + extraJson) + "}";
        SessionConfigParser parser = new SessionConfigParser(Map.of("ENV_SECRET", SECRET)::get,
                engine.storages().names(), "process-secret");
        return engine.prepare(parser.parse(json));
    }

    static RequestDecision.Proceed proceed(RequestDecision d) {
        return assertInstanceOf(RequestDecision.Proceed.class, d);
    }

    static List<String> setCookies(List<HttpHeader> headers) {
        return headers.stream().filter(h -> h.is("Set-Cookie")).map(HttpHeader::value).collect(Collectors.toList());
    }

    /** name=value of the first Set-Cookie, as a browser would send it back. */
    static String cookieOf(List<HttpHeader> headers) {
        String sc = setCookies(headers).get(0);
        return sc.substring(0, sc.indexOf(';'));
    }

    static String header(List<HttpHeader> changes, String name) {
        for (HttpHeader h : changes) {
            if (h.is(name)) {
                return h.value();
            }
        }
        return "<absent>";
    }

    String login(SessionRoute route, String consumer) throws Exception {
        RequestDecision.Proceed p = proceed(engine.onRequest(route, TestRequest.get("/").consumer(consumer)));
        assertEquals(1, setCookies(p.responseHeaders()).size());
        return cookieOf(p.responseHeaders());
    }

    static ResponseView response(int status, List<HttpHeader> headers) {
        return new ResponseView() {
            public int status() {
                return status;
            }

            public List<HttpHeader> headers() {
                return headers;
            }

            public String variable(String name) {
                return "";
            }
        };
    }

    /** A storage whose backend can be switched off, as Redis or Postgres going down would. */
    static final class OutageProvider implements SessionStorageProvider {
        volatile boolean down;
        private final Map<String, byte[]> data = new ConcurrentHashMap<>();

        public String name() {
            return "outage";
        }

        public void validate(StorageConfig config) {
            config.requireOnly(Set.of());
        }

        public SessionStorage create(StorageConfig config, StorageContext context) {
            return new SessionStorage() {
                public Optional<byte[]> get(String key) throws StorageException {
                    check();
                    return Optional.ofNullable(data.get(key));
                }

                public void set(String key, byte[] value, Duration ttl, Renewal renewal, SessionMetadata metadata)
                        throws StorageException {
                    check();
                    data.put(key, value.clone());
                }

                public void delete(String key, SessionMetadata metadata) throws StorageException {
                    check();
                    data.remove(key);
                }
            };
        }

        private void check() throws StorageException {
            if (down) {
                throw new StorageException("backend down");
            }
        }
    }
}
