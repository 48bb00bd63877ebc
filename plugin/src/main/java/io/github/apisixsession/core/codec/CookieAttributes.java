package io.github.apisixsession.core.codec;

/**
 * The attributes of a session cookie. {@code sameSite} is Strict, Lax, None, or Default (omit the
 * attribute). {@code secure} is already forced on for SameSite=None and the {@code __Host-} /
 * {@code __Secure-} prefixes by whoever builds this record (see {@link #forName}).
 */
public record CookieAttributes(String domain, String path, String sameSite, String priority,
                               boolean partitioned, boolean secure, boolean httpOnly) {

    /** The same attributes with Secure forced where the name prefix or SameSite=None needs it. */
    public CookieAttributes forName(String cookieName) {
        boolean mustBeSecure = "None".equals(sameSite)
                || cookieName.startsWith("__Host-") || cookieName.startsWith("__Secure-");
        return mustBeSecure && !secure
                ? new CookieAttributes(domain, path, sameSite, priority, partitioned, true, httpOnly)
                : this;
    }
}
