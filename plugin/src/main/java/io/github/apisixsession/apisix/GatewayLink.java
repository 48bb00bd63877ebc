package io.github.apisixsession.apisix;

import io.github.apisixsession.core.GatewayException;

/** The connection an RPC came on, for ExtraInfo round trips to APISIX during that RPC. */
interface GatewayLink {

    /** Asks APISIX for {@code ctx.var[name]}; null when APISIX has no value. */
    byte[] variable(String name) throws GatewayException;

    /** Asks APISIX for the request body; null when there is none. */
    byte[] requestBody() throws GatewayException;

    /**
     * Asks APISIX for the upstream's response body (during an HTTPRespCall): empty when the
     * upstream sent none, null when APISIX could not read it.
     */
    byte[] responseBody() throws GatewayException;
}
