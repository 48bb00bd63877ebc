package io.github.apisixsession.core;

import io.github.apisixsession.core.codec.CookieAttributes;
import io.github.apisixsession.core.codec.SessionCodec;
import io.github.apisixsession.storage.SessionStorage;

/**
 * A route's session config made ready for requests, once per conf token: the codec with its
 * derived keys, the cookie attributes, and the shared storage (null for cookie storage).
 */
public record SessionRoute(SessionConfig config, SessionCodec codec, CookieAttributes cookieAttributes,
                           SessionCodec.Timeouts timeouts, SessionStorage storage) {
}
