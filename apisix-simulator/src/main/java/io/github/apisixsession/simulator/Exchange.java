package io.github.apisixsession.simulator;

import java.io.PrintStream;
import java.util.List;

/**
 * The outcome of one simulated request: what the client got, what the upstream received (null if
 * it was not called), and the transcript of every RPC made for it.
 */
public final class Exchange {
    private final ClientRequest request;
    private final ClientResponse response;
    private final UpstreamRequest upstreamRequest;
    private final List<String> transcript;
    private final String requestId;
    private final int upstreamCalls;

    Exchange(ClientRequest request, ClientResponse response, UpstreamRequest upstreamRequest,
             List<String> transcript, String requestId, int upstreamCalls) {
        this.request = request;
        this.response = response;
        this.upstreamRequest = upstreamRequest;
        this.transcript = List.copyOf(transcript);
        this.requestId = requestId;
        this.upstreamCalls = upstreamCalls;
    }

    public ClientRequest request() {
        return request;
    }

    public ClientResponse response() {
        return response;
    }

    public int status() {
        return response.status();
    }

    /** First value of a response header (case-insensitive). */
    public String header(String name) {
        return response.header(name);
    }

    public List<String> setCookies() {
        return response.setCookies();
    }

    public String body() {
        return response.bodyAsString();
    }

    public boolean upstreamCalled() {
        return upstreamRequest != null;
    }

    /**
     * How many times the gateway called the upstream for this request: 1 normally, 2 when a
     * post-resp reply sent nothing and APISIX proxied the request again.
     */
    public int upstreamCalls() {
        return upstreamCalls;
    }

    /** Framing defects of the response ({@link FramingCheck#defects}); empty when well-formed. */
    public List<String> framingDefects() {
        return FramingCheck.defects(request, response);
    }

    /** Extra copies of framing headers in the response ({@link FramingCheck#duplicatedFramingHeaders}). */
    public int duplicatedFramingHeaders() {
        return FramingCheck.duplicatedFramingHeaders(response);
    }

    /** What the upstream received (the last call), or null when it was not called. */
    public UpstreamRequest upstreamRequest() {
        return upstreamRequest;
    }

    /** A request header as the upstream saw it, or null (also when the upstream was not called). */
    public String upstreamHeader(String name) {
        return upstreamRequest == null ? null : upstreamRequest.header(name);
    }

    /** The nginx {@code $request_id} of this request (the same in all phases). */
    public String requestId() {
        return requestId;
    }

    public List<String> transcript() {
        return transcript;
    }

    /** Whether any transcript line contains {@code text}. */
    public boolean transcriptContains(String text) {
        return transcript.stream().anyMatch(l -> l.contains(text));
    }

    /** How many transcript lines contain {@code text}. */
    public long transcriptCount(String text) {
        return transcript.stream().filter(l -> l.contains(text)).count();
    }

    public void printTranscript(PrintStream out) {
        transcript.forEach(out::println);
    }

    public String transcriptText() {
        return String.join("\n", transcript);
    }

    @Override
    public String toString() {
        return request + " -> " + response.status() + "\n" + transcriptText();
    }
}
