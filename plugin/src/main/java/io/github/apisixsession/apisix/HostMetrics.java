package io.github.apisixsession.apisix;

/** What the host counts about connections (the session engine counts the rest). */
public interface HostMetrics {

    /** Why a connection was closed before any frame was read from it. */
    enum Refusal {
        /** The peer's user and group are not allowed ({@link PeerPolicy}). */
        PEER,
        /** {@link HostSettings#maxConnections()} connections were already served. */
        LIMIT
    }

    void connectionRefused(Refusal reason);

    HostMetrics NONE = reason -> { };
}
