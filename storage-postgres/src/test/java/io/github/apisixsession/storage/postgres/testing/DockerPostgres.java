package io.github.apisixsession.storage.postgres.testing;

/**
 * Testcontainers, touched only through this class so that a classpath without it (the runner's
 * end-to-end tests) still loads {@link PostgresTestDatabase}.
 */
final class DockerPostgres {

    static final String IMAGE = "postgres:15-alpine";

    private final Object container;
    private final String host;
    private final int port;
    private final String user;
    private final String password;

    private DockerPostgres(Object container, String host, int port, String user, String password) {
        this.container = container;
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
    }

    static boolean available() {
        try {
            Class.forName("org.testcontainers.DockerClientFactory");
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
        try {
            return Probe.dockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    static DockerPostgres start() {
        return Probe.start();
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    String user() {
        return user;
    }

    String password() {
        return password;
    }

    String image() {
        return IMAGE;
    }

    Object container() {
        return container;
    }

    /** Loaded only when Testcontainers is on the classpath. */
    private static final class Probe {
        static boolean dockerAvailable() {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        }

        @SuppressWarnings("resource")
        static DockerPostgres start() {
            org.testcontainers.containers.PostgreSQLContainer<?> c =
                    new org.testcontainers.containers.PostgreSQLContainer<>(IMAGE);
            c.start(); // stopped by Testcontainers' reaper when the JVM exits
            return new DockerPostgres(c, c.getHost(), c.getMappedPort(5432), c.getUsername(), c.getPassword());
        }
    }
}
