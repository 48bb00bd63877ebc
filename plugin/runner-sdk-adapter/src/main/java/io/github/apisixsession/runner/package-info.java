/**
 * The session engine as a {@code PluginFilter} for apache/apisix-java-plugin-runner 0.4.0.
 *
 * <p>That runner cannot add headers to a proxied response from the request phase, so the filter
 * works in two halves tied by APISIX's {@code request_id} variable: {@code filter()} (in
 * {@code ext-plugin-post-req} or {@code -pre-req}) takes the session decision, changes the upstream
 * request and keeps the response headers it decided; {@code postFilter()} (in
 * {@code ext-plugin-post-resp}) sends them with every upstream header re-emitted, since APISIX
 * keeps only the headers a post-resp reply carries. See {@code docs/official-runner.md}.
 */
package io.github.apisixsession.runner;
