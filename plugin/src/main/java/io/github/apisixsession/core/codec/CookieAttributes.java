package io.github.apisixsession.core.codec;

/**
 * The attributes of a session cookie. {@code sameSite} is Strict, Lax, None, or Default (omit the
 * attribute). {@code secure} is already forced on for SameSite=None and the {@code __Host-} /
 * {@code __Secure-} prefixes by whoever builds this record (see {@link #forName}).
 */
public record CookieAttributes(String domain, String path, String sameSite, String priority,
                               boolean partitioned, boolean secure, boolean httpOnly) {

    /**
     * The same attributes with what the name prefix or SameSite=None requires, as lua-resty-session
     * sets them: Secure for {@code __Secure-}, {@code __Host-} and SameSite=None; for
     * {@code __Host-} also {@code Path=/} and no Domain (browsers refuse such a cookie otherwise).
     */
    public CookieAttributes forName(String cookieName) {
        if (cookieName.startsWith("__Host-")) {
            return new CookieAttributes(null, "/", sameSite, priority, partitioned, true, httpOnly);
        }
        boolean mustBeSecure = "None".equals(sameSite) || cookieName.startsWith("__Secure-");
        return mustBeSecure && !secure
                ? new CookieAttributes(domain, path, sameSite, priority, partitioned, true, httpOnly)
                : this;
    }
}
