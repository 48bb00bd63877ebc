package io.github.apisixsession.simulator;

/** The {@code key-auth} plugin's route config: header/query names and the anonymous consumer. */
public record KeyAuth(String header, String query, String anonymousConsumer, boolean hideCredentials) {
    public static KeyAuth required() {
        return new KeyAuth("apikey", "apikey", null, false);
    }

    public static KeyAuth withAnonymous(String consumer) {
        return new KeyAuth("apikey", "apikey", consumer, false);
    }

    public KeyAuth hidingCredentials() {
        return new KeyAuth(header, query, anonymousConsumer, true);
    }
}
