package io.github.apisixsession.apisix;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What this runner jar is: its version, the git commit it was built from and its build time, as
 * the build wrote them into {@code build-info.properties}. The build time is the reproducible
 * build's timestamp, the commit's time (docs/releasing.md), so two builds of one commit agree.
 *
 * @param version the Maven version, e.g. {@code 0.1.0}
 * @param commit the full commit id, or {@code unknown} (built without .git)
 * @param dirty the working tree had uncommitted changes when it was built
 * @param builtAt the build timestamp (ISO 8601), or {@code unknown}
 */
public record BuildInfo(String version, String commit, boolean dirty, String builtAt) {

    static final String UNKNOWN = "unknown";
    private static final String RESOURCE = "build-info.properties";

    /** The build info bundled with this class; fields the build could not fill read as unknown. */
    public static BuildInfo current() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // an unreadable resource leaves every field unknown: --version must still answer
        }
        return of(p);
    }

    static BuildInfo of(Properties p) {
        return new BuildInfo(value(p, "version"), value(p, "commit"), "true".equals(p.getProperty("dirty")),
                value(p, "time"));
    }

    /** As the build wrote it; absent, blank, or an expression the build could not fill reads as unknown. */
    private static String value(Properties p, String key) {
        String v = p.getProperty(key, "").trim();
        return v.isEmpty() || v.contains("${") ? UNKNOWN : v;
    }

    /** What {@code --version} prints. */
    String versionText() {
        return String.join(System.lineSeparator(),
                "apisix-session-runner " + version,
                "commit " + commit + (dirty ? " (with uncommitted changes)" : ""),
                "built " + builtAt);
    }

    /** One line for the start-up log. */
    String summary() {
        String shortCommit = commit.length() > 12 ? commit.substring(0, 12) : commit;
        return "apisix-session-runner " + version + " (commit " + shortCommit + (dirty ? "+changes" : "")
                + ", built " + builtAt + ")";
    }
}
