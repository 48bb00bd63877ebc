package io.github.apisixsession.core;

import io.github.apisixsession.core.http.Cookies;

import java.util.List;
import java.util.Map;

/** Opens package-private parsers of the engine to the fuzz targets in {@code io.github.apisixsession.fuzz}. */
public final class CoreFuzzAccess {

    private CoreFuzzAccess() {
    }

    /** {@link Cookies#parse}: the request's cookies by name, first occurrence wins. */
    public static Map<String, String> parseCookies(List<String> cookieHeaders) {
        return Cookies.parse(cookieHeaders);
    }
}
