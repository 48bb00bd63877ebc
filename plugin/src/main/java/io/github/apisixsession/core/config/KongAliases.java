package io.github.apisixsession.core.config;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** Kong's deprecated shorthand fields, "to be removed in Kong 4.0", and what they map to. */
final class KongAliases {

    private static final Logger LOG = LoggerFactory.getLogger(SessionConfigParser.class);

    /** Old name → current name; an empty current name means the field is ignored. */
    private static final Map<String, String> DEPRECATED = Map.of(
            "cookie_lifetime", "rolling_timeout",
            "cookie_idletime", "idling_timeout",
            "cookie_discard", "stale_ttl",
            "cookie_samesite", "cookie_same_site",
            "cookie_httponly", "cookie_http_only",
            "cookie_persistent", "remember",
            "cookie_renew", "");

    private KongAliases() {
    }

    /** Kong's shorthand fields become the current ones, with a warning naming both. */
    static Map<String, Object> replace(Map<String, Object> in) throws ConfigException {
        Map<String, Object> out = new LinkedHashMap<>(in);
        for (Map.Entry<String, String> alias : DEPRECATED.entrySet()) {
            String old = alias.getKey();
            if (!out.containsKey(old)) {
                continue;
            }
            Object value = out.remove(old);
            String current = alias.getValue();
            if (current.isEmpty()) {
                LOG.info("session config: {} is deprecated and ignored", old);
                continue;
            }
            if ("cookie_idletime".equals(old) && value == null) {
                value = 0;
            }
            if ("cookie_samesite".equals(old) && "off".equals(value)) {
                value = "Lax";
            }
            if (out.containsKey(current) && !Objects.equals(out.get(current), value)) {
                throw new ConfigException(old, "deprecated alias of " + current + "; both are set, to different values");
            }
            out.put(current, value);
            LOG.warn("session config: {} is deprecated (Kong removes it in 4.0); use {}", old, current);
        }
        return out;
    }
}
