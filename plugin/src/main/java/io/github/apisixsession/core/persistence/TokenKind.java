package io.github.apisixsession.core.persistence;

/** The session token, or the remember-me cookie that can restore it. */
public enum TokenKind { SESSION, REMEMBER }
