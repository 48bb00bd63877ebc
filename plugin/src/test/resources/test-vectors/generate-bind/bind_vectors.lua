-- Runs the real lua-resty-session (loaded unmodified from lua_package_path) for generate.py.
-- The only mocks, installed before the library loads (it captures both at load time):
--   ngx.time/ngx.now -> the clock the request sets ("now");
--   resty.session.utils.rand_bytes(n) -> call c of the request returns
--     SHA-256(seed .. "#" .. c .. "#" .. j) for j = 1, 2, ... concatenated, cut to n bytes.
local cjson = require "cjson.safe"
local _M = {}
local clock, seed, calls, drawn = 0, "", 0, {}

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function _M.init()
  ngx.time = function() return clock end
  ngx.now = function() return clock end
  local digest = require "resty.openssl.digest"
  local utils = require "resty.session.utils"
  utils.rand_bytes = function(n)
    calls = calls + 1
    local out, j = {}, 0
    while #table.concat(out) < n do
      j = j + 1
      local d = digest.new("sha256")
      out[#out + 1] = d:final(seed .. "#" .. calls .. "#" .. j)
    end
    local bytes = table.concat(out):sub(1, n)
    drawn[#drawn + 1] = hex(bytes)
    return bytes
  end
  _M.session = require "resty.session"
end

function _M.handle()
  ngx.req.read_body()
  local spec = assert(cjson.decode(ngx.req.get_body_data()))
  clock, seed, calls, drawn = spec.now, spec.seed or "", 0, {}
  local out = {
    remote_addr = ngx.var.remote_addr,
    binary_remote_addr_hex = hex(ngx.var.binary_remote_addr),
    scheme = ngx.var.scheme,
    http_user_agent = ngx.var.http_user_agent or cjson.null,
  }
  if spec.op == "issue" then
    local session = _M.session.new(spec.config)
    session:set_data(spec.data)
    if spec.subject then session:set_subject(spec.subject) end
    local ok, err = session:save()
    out.ok, out.err = ok and true or false, err or cjson.null
  elseif spec.op == "open" then
    local session, err, exists = _M.session.open(spec.config)
    out.exists, out.err = exists and true or false, err or cjson.null
    if exists then
      out.data, out.subject, out.audience = session:get_data(), session:get_subject(), session:get_audience()
    end
  end
  out.mocked_rand_bytes = drawn
  ngx.header["Content-Type"] = "application/json"
  ngx.print(cjson.encode(out))
end

return _M
