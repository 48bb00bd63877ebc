package io.github.apisixsession.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL cluster of the test's own in a temp dir: {@code initdb --auth=trust}, listening
 * on 127.0.0.1:{@code port} and a unix socket in the dir. As root, initdb and pg_ctl run as user
 * {@code postgres} (they refuse root) and the dir belongs to it. For tests that crash and restart
 * the server ({@link StorageFaultsUnderLoadIT}, {@link SharedStatePostgresIT}), which must not do
 * that to the shared test server; they need {@link PostgresBinaries}.
 */
final class PrivatePostgres implements AutoCloseable {
    private final Path bin;
    private final Path dir;
    private final Path data;
    final int port;
    private final boolean root;
    private Thread shutdownHook;

    private PrivatePostgres(Path bin, Path dir, int port, boolean root) {
        this.bin = bin;
        this.dir = dir;
        this.data = dir.resolve("data");
        this.port = port;
        this.root = root;
    }

    /** The directory with initdb and pg_ctl: {@code pg_config --bindir}, else /usr/lib/postgresql/N/bin; null if none. */
    static Path binDir() {
        List<Path> candidates = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("pg_config", "--bindir").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                candidates.add(Path.of(out));
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // not installed: try the Debian layout
        }
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> s = Files.list(lib)) {
                s.map(v -> v.resolve("bin"))
                        .sorted(Comparator.comparing((Path v) -> versionOf(v)).reversed())
                        .forEach(candidates::add);
            } catch (IOException e) {
                // nothing there
            }
        }
        return candidates.stream()
                .filter(d -> Files.isExecutable(d.resolve("initdb")) && Files.isExecutable(d.resolve("pg_ctl")))
                .findFirst().orElse(null);
    }

    /** As root: why initdb cannot be run as user postgres (no such user, no runuser), else null. */
    static String cannotRunAsPostgres() throws IOException {
        if (((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) != 0) {
            return null;
        }
        try {
            Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        } catch (IOException e) {
            return "running as root, and there is no user postgres to run initdb and pg_ctl as";
        }
        try {
            Process p = new ProcessBuilder("runuser", "--help").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            return "running as root, and runuser (util-linux) is missing to run initdb and pg_ctl as postgres";
        }
        return null;
    }

    private static int versionOf(Path bin) {
        try {
            return Integer.parseInt(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A new cluster on a free loopback port, not started. */
    static PrivatePostgres create() throws Exception {
        return create(binDir(), E2e.freePort());
    }

    static PrivatePostgres create(Path bin, int port) throws Exception {
        boolean root = ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        Path dir = Files.createTempDirectory("private-pg-it-");
        PrivatePostgres pg = new PrivatePostgres(bin, dir, port, root);
        pg.shutdownHook = new Thread(pg::stopQuietly, "stop-private-postgres");
        Runtime.getRuntime().addShutdownHook(pg.shutdownHook);
        if (root) {
            UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
            UserPrincipal owner = users.lookupPrincipalByName("postgres");
            GroupPrincipal group = users.lookupPrincipalByGroupName("postgres");
            PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
            view.setOwner(owner);
            view.setGroup(group);
        }
        pg.run(60, bin.resolve("initdb").toString(), "-D", pg.data.toString(), "--auth=trust", "-U", "postgres",
                "-E", "UTF8", "--locale=C", "--no-sync");
        return pg;
    }

    void start() throws Exception {
        run(90, bin.resolve("pg_ctl").toString(), "start", "-D", data.toString(), "-w", "-t", "60",
                "-l", dir.resolve("postgres.log").toString(),
                "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir
                        + " -c max_connections=50 -c shared_buffers=16MB");
    }

    /** A crash: every backend is killed without a checkpoint; the next start recovers from the WAL. */
    void stopImmediate() throws Exception {
        run(60, bin.resolve("pg_ctl").toString(), "stop", "-D", data.toString(), "-m", "immediate", "-w", "-t", "30");
    }

    /**
     * Sends {@code signal} to the postmaster and every process it started (backends, background
     * workers): STOP first to the postmaster, so that it forks nothing more.
     */
    void signalAll(String signal) throws Exception {
        long postmaster = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle pm = ProcessHandle.of(postmaster).orElseThrow(() -> new IOException("no postmaster " + postmaster));
        if (signal.equals("STOP")) {
            signal(signal, postmaster);
        }
        long[] children = pm.children().mapToLong(ProcessHandle::pid).toArray();
        if (children.length > 0) {
            signal(signal, children);
        }
        if (!signal.equals("STOP")) {
            signal(signal, postmaster);
        }
    }

    private void stopQuietly() {
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                try {
                    signalAll("CONT"); // a test that failed while the server was paused
                } catch (Exception e) {
                    // not running
                }
                stopImmediate();
            }
        } catch (Exception e) {
            System.err.println("[private postgres] could not stop the private PostgreSQL in " + dir + ": " + e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        stopQuietly();
        deleteTree(dir);
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting
        }
    }

    private void run(int timeoutSeconds, String... command) throws Exception {
        List<String> cmd = new ArrayList<>();
        if (root) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(command));
        Path out = Files.createTempFile("private-pg-cmd-", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s: "
                        + Files.readString(out));
            }
            if (p.exitValue() != 0) {
                String log = Files.exists(dir.resolve("postgres.log")) ? Files.readString(dir.resolve("postgres.log")) : "";
                throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + Files.readString(out)
                        + "\n--- postgres.log\n" + log);
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private Connection connect(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("connectTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
    }

    void execute(String database, String sql) throws SQLException {
        try (Connection c = connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    long queryLong(String database, String sql) throws SQLException {
        try (Connection c = connect(database); PreparedStatement st = c.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void signal(String name, long... pids) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("kill", "-" + name));
        for (long pid : pids) {
            cmd.add(Long.toString(pid));
        }
        Process k = new ProcessBuilder(cmd).inheritIO().start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0, String.join(" ", cmd));
    }
}
