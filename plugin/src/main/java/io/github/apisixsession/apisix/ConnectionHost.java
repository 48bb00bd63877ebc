package io.github.apisixsession.apisix;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import jdk.net.UnixDomainPrincipal;

/** What an {@link A6Connection} needs from the server that accepted it. */
interface ConnectionHost {

    /** The peer's credentials if it may be served, else null (the refusal is logged and counted). */
    UnixDomainPrincipal admit(SocketChannel channel, long acceptedAt);

    /** The dispatcher once the plugins are loaded; null when the server stops before that. */
    RpcDispatcher awaitDispatcher() throws InterruptedException;

    /** Answers a {@link Handover} request; false when it is refused or not understood. */
    boolean handover(A6Frame request, SocketChannel channel, UnixDomainPrincipal peer) throws IOException;

    /** The JVM failed (out of memory, ...): end the process so that it is started afresh. */
    void fatal(VirtualMachineError error);

    /** Called once when the connection's thread ends. */
    void exited(A6Connection connection);
}
