#!/usr/bin/env python3
"""Drives nginx + the real lua-resty-session 4.1.5 (see README.md) and writes
../lua-resty-session-4.1.5-bind.jsonl and ../nginx-remote-addr.jsonl. Every step is a real HTTP
request over a real connection; the Set-Cookie values are the headers nginx sent."""
import base64, http.client, json, os, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
T0 = 1_700_000_000
SECRET = "kong-bind-vectors-secret-0123456789abcdef"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
KONG_DATA = ["4a3cc1b1-7c1e-4c9a-8f35-9a0e4b3e2d11", "0f5b7a9e-2b8c-4d6f-9e1a-3c5d7f9b1a2c"]

# How a client reaches nginx: the listener, and (realip) the address it claims.
CLIENTS = {
    "ipv4": {"connect": "127.0.0.1", "port": 18941},
    "ipv4-other": {"connect": "127.0.0.1", "port": 18941, "source": "127.0.0.2"},
    "ipv6-loopback": {"connect": "::1", "port": 18941},
    "ipv4-mapped": {"connect": "127.0.0.1", "port": 18943},
}


def realip(addr):
    return {"connect": "127.0.0.1", "port": 18942, "x_client_address": addr}


def client(c):
    return CLIENTS[c] if isinstance(c, str) else c


def call(c, spec, headers=None):
    c = client(c)
    conn = http.client.HTTPConnection(c["connect"], c["port"], timeout=10,
                                      source_address=(c["source"], 0) if "source" in c else None)
    h = {"Content-Type": "application/json", "Connection": "close"}
    if "x_client_address" in c:
        h["X-Client-Address"] = c["x_client_address"]
    h.update(headers or {})
    conn.request("POST", "/", body=json.dumps(spec), headers=h)
    r = conn.getresponse()
    body = json.loads(r.read())
    set_cookie = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    if r.status != 200:
        sys.exit("nginx answered %d: %s" % (r.status, body))
    return body, set_cookie


def seen(c, facts):
    out = dict(client(c))
    for k in ("remote_addr", "binary_remote_addr_hex", "scheme", "http_user_agent"):
        out[k] = facts[k]
    return out


def flags_of(cookie_value):
    header = base64.urlsafe_b64decode(cookie_value[:110] + "==")
    return header[1] | header[2] << 8


def vector(vid, description, config, issuer, opens, ua=None, data=None, subject="fiona", now=T0):
    data = data if data is not None else KONG_DATA
    headers = {"User-Agent": ua} if ua else {}
    facts, set_cookie = call(issuer, {"op": "issue", "now": now, "seed": vid + "/issue", "config": config,
                                      "data": data, "subject": subject}, headers)
    assert facts["ok"], facts
    cookies = {sc.split("=", 1)[0]: sc.split("=", 1)[1].split(";", 1)[0] for sc in set_cookie}
    name = config.get("cookie_name", "session")
    v = {"id": vid, "kind": "bind", "library": "bungle/lua-resty-session", "library_version": "4.1.5",
         "description": description, "config": config,
         "issue": {"now": now, "client": seen(issuer, facts), "request_headers": headers,
                   "set_cookie": set_cookie, "cookies": cookies, "flags": flags_of(cookies[name]),
                   "saved": {"data": data, "subject": subject},
                   "mocked_rand_bytes": facts["mocked_rand_bytes"]},
         "opens": []}
    for i, (c, oua, onow) in enumerate(opens):
        oheaders = {"User-Agent": oua} if oua else {}
        cookie_header = "; ".join("%s=%s" % kv for kv in cookies.items())
        oheaders["Cookie"] = cookie_header
        got, _ = call(c, {"op": "open", "now": onow, "seed": vid + "/open%d" % i, "config": config}, oheaders)
        expect = {"exists": got["exists"], "err": got["err"]}
        if got["exists"]:
            expect.update(data=got["data"], subject=got["subject"], audience=got["audience"])
        v["opens"].append({"now": onow, "client": seen(c, got), "request_headers": {"User-Agent": oua} if oua else {},
                           "cookie_header": cookie_header, "expect": expect})
    return v


def main():
    ip = {"secret": SECRET, "bind": ["ip"]}
    all3 = {"secret": SECRET, "bind": ["ip", "scheme", "user-agent"]}
    forever = {"idling_timeout": 0, "rolling_timeout": 0, "absolute_timeout": 0}
    later = T0 + 60
    vs = [
        vector("v415-b01-ip-ipv4", "bind ip, IPv4 client 127.0.0.1", ip, "ipv4",
               [("ipv4", None, later), ("ipv4-other", None, later), ("ipv4-mapped", None, later)]),
        vector("v415-b02-ip-ipv6-loopback", "bind ip, IPv6 client ::1 (a real [::1] connection)", ip, "ipv6-loopback",
               [("ipv6-loopback", None, later), (realip("0:0:0:0:0:0:0:1"), None, later), ("ipv4", None, later)]),
        vector("v415-b03-ip-ipv6-doc", "bind ip, IPv6 client 2001:db8::1 (realip)", ip, realip("2001:db8::1"),
               [(realip("2001:DB8:0:0:0:0:0:1"), None, later), (realip("2001:db8::2"), None, later),
                (realip("2001:db8:0:0:0:0:0:1"), None, later)]),
        vector("v415-b04-ip-ipv6-two-zero-runs", "bind ip, 2001:db8:0:0:1:0:0:1: nginx compresses the first run",
               ip, realip("2001:0db8:0000:0000:0001:0000:0000:0001"),
               [(realip("2001:db8::1:0:0:1"), None, later), (realip("2001:db8:0:0:1::1"), None, later)]),
        vector("v415-b05-ip-ipv4-mapped", "bind ip, IPv4 client on a dual-stack listener (::ffff:127.0.0.1)", ip,
               "ipv4-mapped", [("ipv4-mapped", None, later), ("ipv4", None, later),
                               (realip("::ffff:127.0.0.1"), None, later)]),
        vector("v415-b06-all-ipv4", "bind ip+scheme+user-agent, IPv4", all3, "ipv4",
               [("ipv4", FIREFOX, later), ("ipv4", CHROME, later), ("ipv4-other", FIREFOX, later)], ua=FIREFOX),
        vector("v415-b07-all-ipv6-loopback", "bind ip+scheme+user-agent, IPv6 ::1", all3, "ipv6-loopback",
               [("ipv6-loopback", FIREFOX, later), ("ipv6-loopback", CHROME, later), ("ipv4", FIREFOX, later)],
               ua=FIREFOX),
        vector("v415-b08-all-ipv6-doc", "bind ip+scheme+user-agent, IPv6 2001:db8:85a3::8a2e:370:7334 (realip)", all3,
               realip("2001:db8:85a3::8a2e:370:7334"),
               [(realip("2001:db8:85a3:0:0:8a2e:370:7334"), FIREFOX, later),
                (realip("2001:db8:85a3::8a2e:370:7335"), FIREFOX, later)], ua=FIREFOX),
        vector("v415-b09-ip-ipv4-mapped-realip", "bind ip, ::ffff:10.1.2.3 (realip)", ip, realip("::ffff:10.1.2.3"),
               [(realip("::ffff:10.1.2.3"), None, later), (realip("10.1.2.3"), None, later)]),
        # all timeouts 0: these cookies never expire, so end-to-end tests open them on the real clock
        vector("v415-b20-ip-ipv4-forever", "bind ip, IPv4 127.0.0.1, no timeouts", {**ip, **forever}, "ipv4",
               [("ipv4", None, later), ("ipv4-other", None, later)]),
        vector("v415-b21-ip-ipv6-forever", "bind ip, IPv6 2001:db8::1 (realip), no timeouts", {**ip, **forever},
               realip("2001:db8::1"), [(realip("2001:db8::1"), None, later), (realip("2001:db8::2"), None, later)]),
        vector("v415-b22-all-ipv6-forever", "bind ip+scheme+user-agent, IPv6 ::1, no timeouts", {**all3, **forever},
               "ipv6-loopback", [("ipv6-loopback", FIREFOX, later), ("ipv6-loopback", CHROME, later)], ua=FIREFOX),
    ]
    with open(os.path.join(OUT, "lua-resty-session-4.1.5-bind.jsonl"), "w") as f:
        for v in vs:
            f.write(json.dumps(v, separators=(",", ":")) + "\n")
    # how nginx prints addresses ($remote_addr) and their bytes ($binary_remote_addr)
    addrs = ["127.0.0.1", "10.1.2.3", "::1", "::", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:db8:0:0:1:0:0:1",
             "2001:db8:0:1:0:0:0:1", "2001:db8::1:0:0:0:1", "2001:0:0:1::1", "2001:db8:1:2:3:4:5:6", "2001:db8:0:2:3:4:5:6",
             "fe80::1", "ff02::1:ff00:1", "::ffff:1.2.3.4", "::ffff:127.0.0.1", "::ffff:0:1.2.3.4", "::1.2.3.4",
             "::2", "::102", "::1:2", "1::", "1:0:0:0:0:0:0:0", "0:0:1::", "2001:db8::a:b:c:d", "::ffff:abcd:1"]
    with open(os.path.join(OUT, "nginx-remote-addr.jsonl"), "w") as f:
        for c in list(CLIENTS) + [realip(a) for a in addrs]:
            facts, _ = call(c, {"op": "facts", "now": T0})
            row = {"client": seen(c, facts)}
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
    print("wrote %d vectors and %d addresses" % (len(vs), len(CLIENTS) + len(addrs)))


main()
