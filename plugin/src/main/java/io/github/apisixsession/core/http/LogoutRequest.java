package io.github.apisixsession.core.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.apisixsession.core.GatewayException;
import io.github.apisixsession.core.RequestView;
import io.github.apisixsession.core.config.SessionConfig;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Whether a request asks to log out, as Kong reads it: a logout method, and the logout query
 * argument, or (with {@code read_body_for_logout}) the logout argument in an urlencoded or JSON body.
 */
public final class LogoutRequest {

    private static final Set<String> BODY_METHODS = Set.of("POST", "PUT", "PATCH", "DELETE");
    private static final ObjectMapper JSON = new ObjectMapper();

    private LogoutRequest() {
    }

    /** A logout of this session (or, with {@code logout_all_query_arg}, of every session of its subject). */
    public static boolean matches(SessionConfig.Logout logout, RequestView request) throws GatewayException {
        String method = request.method().toUpperCase(Locale.ROOT);
        if (!logout.methods().contains(method)) {
            return false;
        }
        if (!request.queryArgs(logout.queryArg()).isEmpty() || wantsAll(logout, request)) {
            return true;
        }
        return logout.readBody() && BODY_METHODS.contains(method) && bodyHasArgument(request, logout.postArg());
    }

    /** {@code logout_all_query_arg} is present: log the subject out everywhere. */
    public static boolean wantsAll(SessionConfig.Logout logout, RequestView request) {
        return logout.allQueryArg() != null && !request.queryArgs(logout.allQueryArg()).isEmpty();
    }

    /** Kong reads urlencoded and JSON bodies; a present, non-false value means logout. */
    private static boolean bodyHasArgument(RequestView request, String name) throws GatewayException {
        List<String> types = request.headers("Content-Type");
        String type = types.isEmpty() ? "" : types.get(0).toLowerCase(Locale.ROOT);
        byte[] body = request.body();
        if (body.length == 0) {
            return false;
        }
        if (type.startsWith("application/json")) {
            try {
                JsonNode node = JSON.readTree(body);
                JsonNode v = node == null ? null : node.get(name);
                return v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean());
            } catch (IOException e) {
                return false;
            }
        }
        if (type.startsWith("application/x-www-form-urlencoded") || type.isEmpty()) {
            String form = new String(body, StandardCharsets.UTF_8);
            for (String pair : form.split("&")) {
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                try {
                    if (URLDecoder.decode(key, StandardCharsets.UTF_8).equals(name)) {
                        return true;
                    }
                } catch (IllegalArgumentException e) {
                    // a malformed escape is not our argument
                }
            }
        }
        return false;
    }
}
