package io.github.apisixsession.simulator;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** What the HTTP client finally receives from the simulated gateway. */
public record ClientResponse(int status, HttpHeaders headers, byte[] body) {
    public ClientResponse {
        headers = headers.copy();
        body = body == null ? new byte[0] : body;
    }

    public String header(String name) {
        return headers.get(name);
    }

    public List<String> headerValues(String name) {
        return headers.getAll(name);
    }

    public List<String> setCookies() {
        return headers.getAll("Set-Cookie");
    }

    /** The Set-Cookie value for cookie {@code name} (the last one if several), or null. */
    public String setCookie(String name) {
        String found = null;
        for (String sc : setCookies()) {
            SetCookie c = SetCookie.parse(sc);
            if (c != null && c.name().equals(name)) {
                found = sc;
            }
        }
        return found;
    }

    public String bodyAsString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return status + " " + headers + (body.length > 0 ? " " + A6.abbreviate(bodyAsString(), 120) : "");
    }
}
