package io.github.apisixsession.storage.postgres;

import java.util.regex.Pattern;
import org.flywaydb.core.api.logging.Log;
import org.flywaydb.core.api.logging.LogCreator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flyway's messages through SLF4J, minus JDBC URLs: Flyway logs the connection's URL at start
 * ({@code Database: jdbc:postgresql://…?…}), and a URL can carry a password. Named in
 * {@link PostgresMigrations} as Flyway's logger; Flyway instantiates it by class name.
 */
public final class FlywayLogs implements LogCreator {

    private static final Pattern JDBC_URL = Pattern.compile("jdbc:[a-z0-9]+:\\S*", Pattern.CASE_INSENSITIVE);

    public FlywayLogs() {
    }

    @Override
    public Log createLogger(Class<?> clazz) {
        return new Redacting(LoggerFactory.getLogger(clazz));
    }

    static String redact(String message) {
        return message == null ? null : JDBC_URL.matcher(message).replaceAll("<jdbc url>");
    }

    private record Redacting(Logger log) implements Log {
        @Override
        public boolean isDebugEnabled() {
            return log.isDebugEnabled();
        }

        @Override
        public void debug(String message) {
            log.debug(redact(message));
        }

        @Override
        public void info(String message) {
            log.info(redact(message));
        }

        @Override
        public void warn(String message) {
            log.warn(redact(message));
        }

        @Override
        public void error(String message) {
            log.error(redact(message));
        }

        @Override
        public void error(String message, Exception e) {
            // the exception's text may hold the URL too: only its redacted summary is logged
            log.error(redact(message) + ": " + redact(PostgresConnections.describe(e)));
        }

        @Override
        public void notice(String message) {
            log.info(redact(message));
        }
    }
}
