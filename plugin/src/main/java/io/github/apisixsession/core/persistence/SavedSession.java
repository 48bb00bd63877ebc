package io.github.apisixsession.core.persistence;

import io.github.apisixsession.core.codec.CookieChunker;

import java.util.List;

/** A session just sealed (and stored), and the token chunks (name, value) to send to the client. */
public record SavedSession(OpenSession session, List<CookieChunker.Chunk> chunks) {
}
