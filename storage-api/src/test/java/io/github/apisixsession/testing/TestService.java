package io.github.apisixsession.testing;

/**
 * Something a test needs from the machine: a server it talks to, a program it starts. Named in
 * {@link RequiresService}; implementations have a public no-argument constructor and are asked
 * once per JVM.
 */
public interface TestService {

    /**
     * Null when the service is there; otherwise why not and how to get it (e.g. "no Redis at
     * 127.0.0.1:6379 (bash .ci/run starts one)"), which becomes the skip or failure message.
     */
    String missing();
}
