package io.github.apisixsession.testing;

/**
 * {@code redis-server} and {@code redis-cli}, for tests that start (and stop, pause, kill) a
 * private server on a free port instead of the shared one.
 */
public final class RedisBinaries implements TestService {

    @Override
    public String missing() {
        return InstalledPrograms.missing("apt-get install redis-server", "redis-server --version", "redis-cli --version");
    }
}
