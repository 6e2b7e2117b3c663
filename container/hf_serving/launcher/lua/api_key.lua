-- The API key's check (SERVE_API_KEY), run inside nginx (lua-nginx-module) in the rewrite phase of every route that
-- asks for it. Exact: nginx's map compares strings without case, so the key in upper case passed. In constant time:
-- a comparison that stops at the first differing byte tells a client how much of its guess was right. Both sides
-- are hashed first (SHA-1, 20 bytes whatever was sent, so the key's length does not show either), then every byte
-- is compared. The configuration holds the key's digest, not the key (hf_serving/launcher/edge.py).

local bit = require("bit")

local M = {}

local expected_by_hex = {} -- the digest as bytes, by its hex form in the configuration: decoded once a worker

local function bytes_of(hex)
    local bytes = expected_by_hex[hex]
    if not bytes then
        bytes = (hex:gsub("%x%x", function(pair) return string.char(tonumber(pair, 16)) end))
        expected_by_hex[hex] = bytes
    end
    return bytes
end

local function equal_in_constant_time(a, b)
    local difference = 0
    for index = 1, #a do
        difference = bit.bor(difference, bit.bxor(a:byte(index), b:byte(index)))
    end
    return difference == 0
end

local function is_the_key(sent, expected)
    -- A missing header is hashed too (as ""): the work is the same whether or not a key was sent.
    return equal_in_constant_time(ngx.sha1_bin(sent or ""), expected) and sent ~= nil
end

-- set_by_lua: "1" when X-Api-Key or Authorization: Bearer holds the key (the scheme's case is free, RFC 9110 11.1;
-- the key's is not), else "0". Both headers are always checked, so the time does not say which one was tried.
function M.matches(expected_hex)
    local expected = bytes_of(expected_hex)
    local authorization = ngx.var.http_authorization
    local bearer = authorization and authorization:match("^[Bb][Ee][Aa][Rr][Ee][Rr] (.*)$")
    local in_header = is_the_key(ngx.var.http_x_api_key, expected)
    local in_bearer = is_the_key(bearer, expected)
    return (in_header or in_bearer) and "1" or "0"
end

return M
