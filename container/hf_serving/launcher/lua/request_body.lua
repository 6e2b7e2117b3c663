-- A request's body, read whole within a total time, run inside nginx (lua-nginx-module) in the access phase of the
-- routes that take a body. nginx's client_body_timeout is the longest pause between two reads, restarted by every
-- byte: a client trickling a byte every few seconds held its connection for as long as it liked, and about a
-- thousand of them took every connection nginx had. Here the body must be in within SERVE_REQUEST_READ_TIMEOUT_S of
-- the request's first byte; a request past it is cut off as nginx cuts off a stalled body (408, connection closed).
-- 60 s by default: a 6 MB body at 1 Mbit/s takes 48 s.

local M = {}

local read_timeout_s

function M.start(config)
    read_timeout_s = config.read_timeout_s
end

local function read_whole()
    ngx.req.read_body() -- nginx's own refusals (413, a malformed chunked body) end the request from here as before
    return true
end

local function wait(seconds)
    ngx.sleep(seconds)
    return false
end

-- The body, in memory or in nginx's temporary file, for the upstream and for Lua (explanations.lua); it returns once
-- it is read, or ends the request at the deadline. A body already read (nginx read it with the headers) costs two
-- light threads that end at once.
function M.read()
    ngx.update_time()
    local left_s = ngx.req.start_time() + read_timeout_s - ngx.now()
    if left_s <= 0 then
        return ngx.exit(ngx.HTTP_REQUEST_TIMEOUT)
    end
    local reader = ngx.thread.spawn(read_whole)
    local timer = ngx.thread.spawn(wait, left_s)
    local _, read = ngx.thread.wait(reader, timer)
    if not read then
        ngx.log(ngx.INFO, "request body not read within ", read_timeout_s, " s (SERVE_REQUEST_READ_TIMEOUT_S)")
        return ngx.exit(ngx.HTTP_REQUEST_TIMEOUT)
    end
    ngx.thread.kill(timer)
end

return M
