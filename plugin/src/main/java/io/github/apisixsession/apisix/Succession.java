package io.github.apisixsession.apisix;

import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This runner's side of a takeover ({@link Handover}): the connection to the runner that served
 * the path when this one started, and the conf tokens taken from it, which this runner then
 * answers as its own.
 */
final class Succession {

    private static final Logger LOG = LoggerFactory.getLogger(Succession.class);

    interface Publish {
        void run() throws IOException;
    }

    private volatile Handover.Predecessor predecessor;
    private volatile List<Handover.Token> inherited = List.of();

    Succession(Handover.Predecessor predecessor) {
        this.predecessor = predecessor;
    }

    /** Whether the old runner received SIGTERM (then this one takes over at once). */
    boolean predecessorStopping() {
        Handover.Predecessor p = predecessor;
        return p != null && p.stopping();
    }

    /** Publishes this runner's socket over the path and takes the old runner's tokens (it then drains). */
    void takeOver(Publish publish, String path, String why) throws IOException {
        publish.run();
        LOG.info("took {} over from the runner serving it ({})", path, why);
        Handover.Predecessor p = predecessor;
        if (p != null) {
            inherited = p.export();
            p.close();
            predecessor = null;
        }
    }

    /**
     * Takes the path over now that the plugins are loaded: parses the old runner's confs while it
     * still serves, then publishes and parses only those it made meanwhile, so that the first
     * RPCs on the new socket wait for nothing. Then adopts every token taken.
     */
    void takeOverWhenReady(Publish publish, String path, RpcDispatcher d, ConfCache confs) throws IOException {
        Handover.Predecessor p = predecessor;
        List<Handover.Token> early = p == null ? List.of() : p.peek();
        int adopted = adopt(d, confs, early);
        takeOver(publish, path, "this runner is ready");
        long more = inherited.stream().filter(t -> confs.lookup(t.token()) == null).count();
        adopted += adoptInherited(d, confs);
        log(adopted, early.size() + (int) more);
    }

    /** After an early takeover: adopts the tokens taken then. */
    void adoptInherited(RpcDispatcher d, ConfCache confs, boolean log) {
        int offered = inherited.size();
        int adopted = adoptInherited(d, confs);
        if (log) {
            log(adopted, offered);
        }
    }

    private int adoptInherited(RpcDispatcher d, ConfCache confs) {
        List<Handover.Token> rest = inherited.stream().filter(t -> confs.lookup(t.token()) == null).toList();
        inherited = List.of();
        return adopt(d, confs, rest);
    }

    private static void log(int adopted, int offered) {
        if (offered > 0) {
            LOG.info("answering {} of {} conf tokens of the runner taken over from", adopted, offered);
        }
    }

    /** Parses each token's PrepareConf here and makes the token name the result. */
    private static int adopt(RpcDispatcher d, ConfCache confs, List<Handover.Token> tokens) {
        int adopted = 0;
        for (Handover.Token t : tokens) {
            try {
                A6Frame reply = d.handle(t.prepareConf(), null);
                if (reply.type() == A6Frame.RPC_PREPARE_CONF) {
                    long own = io.github.api7.A6.PrepareConf.Resp
                            .getRootAsResp(java.nio.ByteBuffer.wrap(reply.payload())).confToken();
                    adopted += confs.adopt(t.token(), own) ? 1 : 0;
                }
            } catch (MalformedRpcException | RuntimeException e) {
                // a conf this version does not accept: APISIX prepares it again when asked
            }
        }
        return adopted;
    }

    void close() {
        Handover.Predecessor p = predecessor;
        if (p != null) {
            p.close();
        }
    }
}
