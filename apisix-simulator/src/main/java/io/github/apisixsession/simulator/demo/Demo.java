package io.github.apisixsession.simulator.demo;

import io.github.apisixsession.simulator.ClientRequest;
import io.github.apisixsession.simulator.Consumer;
import io.github.apisixsession.simulator.CookieJar;
import io.github.apisixsession.simulator.Exchange;
import io.github.apisixsession.simulator.ExtPluginConf;
import io.github.apisixsession.simulator.KeyAuth;
import io.github.apisixsession.simulator.Route;
import io.github.apisixsession.simulator.RunnerProcess;
import io.github.apisixsession.simulator.SimulatedApisix;
import io.github.apisixsession.simulator.UpstreamResponse;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The README's first command: starts {@code apisix-session-runner.jar} as APISIX would, plays a
 * scripted APISIX conversation against it (login with an API key, cookie-only request, logout,
 * replay of the logged-out cookie) and prints the transcript. Exits 1 if the runner does not
 * behave as the script expects, so the demo doubles as a smoke test.
 */
public final class Demo {

    private final PrintStream out;
    private final List<String> failures = new ArrayList<>();

    private Demo(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        Path jar = Path.of(args.length > 0 ? args[0] : "plugin/target/apisix-session-runner.jar");
        if (!Files.isRegularFile(jar)) {
            System.err.println("runner jar not found: " + jar.toAbsolutePath()
                    + " (build it with: mvn -B -q -DskipTests package, or pass its path)");
            System.exit(2);
        }
        System.exit(new Demo(System.out).run(jar));
    }

    private int run(Path jar) throws Exception {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        String conf = "{\"secret\": \"$env://SESSION_SECRET\", \"anonymous_consumer\": \"anon\", "
                + "\"reject_status\": 401, \"cookie_secure\": false}";

        section("Starting the runner as APISIX's ext-plugin.cmd would: java -jar " + jar);
        try (RunnerProcess runner = RunnerProcess.builder(jar).env("SESSION_SECRET", secret)
                .confExpireTime(3600).start();
             SimulatedApisix apisix = SimulatedApisix.in(runner)) {
            out.println("APISIX_LISTEN_ADDRESS=unix:" + runner.socketPath() + "  (SESSION_SECRET: 32 random bytes)");
            runner.awaitLog("listening on", Duration.ofSeconds(5));
            runner.logs().lines().filter(l -> l.contains("listening on")).forEach(l -> out.println("runner: " + l));

            out.println();
            out.println("Route /app/* with key-auth (anonymous_consumer: anon) and, in ext-plugin-post-req:");
            out.println("  {\"name\": \"session\", \"value\": " + quote(conf) + "}");
            out.println("Consumers: fiona (key open_sesame), anon (key-auth's anonymous consumer)");
            apisix.consumer(Consumer.of("fiona", "open_sesame"))
                    .consumer("anon", "never-sent")
                    .route(Route.uri("/app/*")
                            .keyAuth(KeyAuth.withAnonymous("anon"))
                            .postReq(ExtPluginConf.of("session", conf))
                            .upstream(req -> UpstreamResponse.json("{\"hello\": \""
                                    + (req.hasHeader("X-Consumer-Username") ? req.header("X-Consumer-Username") : "stranger")
                                    + "\"}")));

            CookieJar browser = new CookieJar();

            Exchange login = step(apisix, "1. Log in with the API key", ClientRequest.get("/app/profile").apikey("open_sesame"));
            browser.update(login.response());
            expect(login.status() == 200, "login answered 200");
            expect(login.response().setCookie("session") != null, "login set the session cookie");
            expect("fiona".equals(login.upstreamHeader("X-Consumer-Username")), "upstream saw fiona");

            Exchange cookieOnly = step(apisix, "2. The cookie alone, no key (key-auth attaches anon)",
                    ClientRequest.get("/app/profile").cookies(browser));
            expect(cookieOnly.status() == 200, "cookie-only request answered 200");
            expect("fiona".equals(cookieOnly.upstreamHeader("X-Consumer-Username")),
                    "upstream saw X-Consumer-Username: fiona from the session");

            Exchange forged = step(apisix, "3. A stranger forging X-Consumer-Username, no cookie",
                    ClientRequest.get("/app/profile").header("X-Consumer-Username", "fiona"));
            expect(forged.status() == 401 && !forged.upstreamCalled(), "forged identity rejected with 401");

            String stolen = browser.cookieHeader();
            Exchange logout = step(apisix, "4. Log out",
                    ClientRequest.post("/app/anything?session_logout").cookies(browser));
            browser.update(logout.response());
            expect(logout.status() == 200 && !logout.upstreamCalled(), "logout answered 200 by the runner");
            expect(browser.get("session") == null, "the browser dropped the cookie");

            Exchange replay = step(apisix, "5. The logged-out cookie, replayed", ClientRequest.get("/app/profile")
                    .cookie(stolen));
            expect(replay.status() == 401 && !replay.upstreamCalled(), "the logged-out cookie is rejected");

            section("Stopping the runner (SIGTERM)");
            int code = runner.stop();
            out.println("runner exited with " + code);
            expect(code == 0, "runner exited cleanly");
        }
        section(failures.isEmpty() ? "Demo finished: every step behaved as expected"
                : "Demo FAILED: " + String.join("; ", failures));
        return failures.isEmpty() ? 0 : 1;
    }

    private Exchange step(SimulatedApisix apisix, String title, ClientRequest request) {
        section(title);
        out.println("client → APISIX: " + request.method() + " " + request.uri() + describeHeaders(request));
        Exchange ex = apisix.send(request);
        ex.printTranscript(out);
        out.println("client ← APISIX: " + ex.status()
                + (ex.setCookies().isEmpty() ? "" : "  Set-Cookie: " + String.join(" | ", abbreviate(ex.setCookies()))));
        if (ex.upstreamCalled()) {
            String who = ex.upstreamHeader("X-Consumer-Username");
            out.println("upstream got X-Consumer-Username: " + (who == null ? "(none)" : who));
        } else {
            out.println("upstream not called; body: " + ex.body());
        }
        return ex;
    }

    private static String describeHeaders(ClientRequest request) {
        StringBuilder b = new StringBuilder();
        request.headers().forEach(h -> b.append("  ").append(h.name()).append(": ").append(abbreviate(h.value())));
        return b.toString();
    }

    private static List<String> abbreviate(List<String> values) {
        return values.stream().map(Demo::abbreviate).toList();
    }

    /** Cookies are long; show their start and attributes. */
    private static String abbreviate(String value) {
        int semi = value.indexOf(';');
        String head = semi < 0 ? value : value.substring(0, semi);
        String tail = semi < 0 ? "" : value.substring(semi);
        return head.length() > 48 ? head.substring(0, 40) + "…(" + head.length() + " chars)" + tail : value;
    }

    private void expect(boolean ok, String what) {
        out.println((ok ? "  ✔ " : "  ✘ ") + what);
        if (!ok) {
            failures.add(what);
        }
    }

    private void section(String title) {
        out.println();
        out.println("== " + title);
    }

    private static String quote(String json) {
        return "\"" + json.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
