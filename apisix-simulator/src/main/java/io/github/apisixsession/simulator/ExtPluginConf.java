package io.github.apisixsession.simulator;

import java.util.ArrayList;
import java.util.List;

/**
 * The configuration of one ext-plugin phase on a route:
 * {@code {"conf":[{"name":…,"value":…}], "allow_degradation": false}}.
 */
public final class ExtPluginConf {
    private final List<Entry> conf = new ArrayList<>();
    private boolean allowDegradation;

    private ExtPluginConf() {
    }

    /** One conf entry. */
    public static ExtPluginConf of(String name, String value) {
        return new ExtPluginConf().and(name, value);
    }

    /** Adds another conf entry (the runner runs them in this order). */
    public ExtPluginConf and(String name, String value) {
        if (name == null || name.isEmpty() || name.length() > 128) {
            throw new IllegalArgumentException("conf name must be 1..128 chars");
        }
        conf.add(new Entry(name, value == null ? "" : value));
        return this;
    }

    public ExtPluginConf allowDegradation(boolean allow) {
        this.allowDegradation = allow;
        return this;
    }

    public List<Entry> conf() {
        return List.copyOf(conf);
    }

    public boolean allowDegradation() {
        return allowDegradation;
    }

    /** Names only, for transcripts. */
    String names() {
        List<String> n = new ArrayList<>();
        conf.forEach(e -> n.add(e.name()));
        return n.toString();
    }
}
