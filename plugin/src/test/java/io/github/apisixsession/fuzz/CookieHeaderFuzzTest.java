package io.github.apisixsession.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.apisixsession.core.CoreFuzzAccess;
import java.util.List;
import java.util.Map;

/**
 * The Cookie header parser ({@code Cookies.parse}) on fuzzed Cookie headers (one per line of the
 * {@link FuzzInput}, which can also bring in the genuine cookies and flip a character): it never
 * throws, keeps at most 256 cookies, and every pair it returns is one the header really carries
 * (a non-empty name without {@code ;} or {@code =}, a value without {@code ;}, both trimmed).
 */
class CookieHeaderFuzzTest {

    @FuzzTest
    void cookieHeaders(byte[] data) {
        List<String> headers = Genuine.lines(FuzzInput.of(data).text());
        Map<String, String> cookies = CoreFuzzAccess.parseCookies(headers);
        if (cookies.size() > 256) {
            throw new AssertionError("unbounded: " + cookies.size() + " cookies");
        }
        for (Map.Entry<String, String> e : cookies.entrySet()) {
            String name = e.getKey();
            String value = e.getValue();
            if (name.isEmpty() || name.contains(";") || name.contains("=") || value.contains(";")) {
                throw new AssertionError("bad pair " + name + "=" + value);
            }
            if (!name.equals(name.trim()) || !headersContain(headers, name)) {
                throw new AssertionError("name not trimmed or not from the headers: " + name);
            }
            if (!headersContain(headers, value)) {
                throw new AssertionError("value not from the headers: " + value);
            }
        }
    }

    private static boolean headersContain(List<String> headers, String part) {
        for (String h : headers) {
            if (h.contains(part)) {
                return true;
            }
        }
        return false;
    }
}
