package io.github.apisixsession.storage.postgres;

import io.github.apisixsession.storage.StorageConfig;
import io.github.apisixsession.storage.StorageConfigException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code java -jar apisix-session-runner.jar migrate …}: applies the PostgreSQL storage's Flyway
 * scripts without starting the runner, for deploy pipelines (then routes can use
 * {@code "migrate": false}). The runner finds this class by name, so the host has no compile-time
 * dependency on PostgreSQL.
 *
 * <p>The password is never taken from the command line (other users could read it in the process
 * list): {@code --password-env NAME} names the variable that holds it, {@code PGPASSWORD} by
 * default.
 */
public final class PostgresMigrateCommand {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    static final String USAGE = String.join(System.lineSeparator(),
            "usage: java -jar apisix-session-runner.jar migrate (--jdbc-url URL | --host H [--port P] --database D)",
            "           [--username U] [--password-env NAME] [--schema S] [--table-prefix P]",
            "           [--connect-timeout SECONDS] [--check]",
            "  applies the PostgreSQL session storage's schema migrations (Flyway) and exits",
            "  --jdbc-url         jdbc:postgresql://host:port/database[?options]",
            "  --host/--port/--database  instead of --jdbc-url (port 5432 by default)",
            "  --username         database user",
            "  --password-env     environment variable holding the password (default PGPASSWORD)",
            "  --schema           schema of the tables (default public)",
            "  --table-prefix     prefix of the table names (default apisix_)",
            "  --connect-timeout  seconds to wait for the database (default 10)",
            "  --check            apply nothing; exit 1 if scripts are pending, 0 if up to date",
            "exit codes: 0 done, 1 failed, 2 bad usage");

    private PostgresMigrateCommand() {
    }

    /** Entry point the runner calls by reflection; returns the exit code. */
    public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        Map<String, Object> values = new LinkedHashMap<>();
        String passwordEnv = null;
        boolean check = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help")) {
                out.println(USAGE);
                return EXIT_OK;
            }
            if (arg.equals("--check")) {
                check = true;
                continue;
            }
            String name = arg;
            String value;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                err.println("migrate: " + arg + " needs a value");
                err.println(USAGE);
                return EXIT_USAGE;
            }
            switch (name) {
                case "--jdbc-url" -> values.put(PostgresSettings.JDBC_URL, value);
                case "--host" -> values.put(PostgresSettings.HOST, value);
                case "--port" -> values.put(PostgresSettings.PORT, parseNumber(value));
                case "--database" -> values.put(PostgresSettings.DATABASE, value);
                case "--username" -> values.put(PostgresSettings.USERNAME, value);
                case "--schema" -> values.put(PostgresSettings.SCHEMA, value);
                case "--table-prefix" -> values.put(PostgresSettings.TABLE_PREFIX, value);
                case "--connect-timeout" -> values.put(PostgresSettings.CONNECT_TIMEOUT, parseNumber(value));
                case "--password-env" -> passwordEnv = value;
                case "--password" -> {
                    err.println("migrate: --password is not accepted (it would show in the process list); "
                            + "put the password in an environment variable and name it with --password-env");
                    return EXIT_USAGE;
                }
                default -> {
                    err.println("migrate: unknown option " + name);
                    err.println(USAGE);
                    return EXIT_USAGE;
                }
            }
        }
        if (!values.containsKey(PostgresSettings.JDBC_URL) && !values.containsKey(PostgresSettings.DATABASE)) {
            err.println("migrate: give --jdbc-url or --database");
            err.println(USAGE);
            return EXIT_USAGE;
        }
        String passwordVariable = passwordEnv == null ? "PGPASSWORD" : passwordEnv;
        if (passwordEnv != null && env.get(passwordEnv) == null) {
            err.println("migrate: environment variable " + passwordEnv + " is not set");
            return EXIT_USAGE;
        }
        if (env.get(passwordVariable) != null) {
            values.put(PostgresSettings.PASSWORD, "$env://" + passwordVariable);
        }
        values.putIfAbsent(PostgresSettings.CONNECT_TIMEOUT, 10);
        values.put(PostgresSettings.QUERY_TIMEOUT, 300);
        values.put(PostgresSettings.POOL_SIZE, 1);
        PostgresSettings settings;
        try {
            settings = PostgresSettings.parse(StorageConfig.of("migrate", values), env::get);
        } catch (StorageConfigException e) {
            String field = e.field().substring(e.field().indexOf('.') + 1);
            err.println("migrate: --" + field.replace('_', '-') + ": "
                    + e.getMessage().substring(e.field().length() + 2));
            return EXIT_USAGE;
        }
        try {
            javax.sql.DataSource ds = PostgresConnections.migrationDataSource(settings);
            if (check) {
                int pending = PostgresMigrations.pending(ds, settings);
                out.println(pending == 0
                        ? "migrate: " + settings.describe() + ": up to date"
                        : "migrate: " + settings.describe() + ": " + pending + " script(s) pending");
                return pending == 0 ? EXIT_OK : EXIT_FAILURE;
            }
            PostgresMigrations.Outcome outcome = PostgresMigrations.migrate(ds, settings);
            out.println("migrate: " + settings.describe() + ": " + outcome);
            return EXIT_OK;
        } catch (RuntimeException e) {
            err.println("migrate: " + settings.describe() + ": failed: " + PostgresConnections.describe(e));
            return EXIT_FAILURE;
        }
    }

    private static Object parseNumber(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e2) {
                return s; // reported by the settings as "must be …"
            }
        }
    }
}
