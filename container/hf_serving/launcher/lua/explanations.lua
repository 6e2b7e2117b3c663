-- Which worker an invocation goes to, run inside nginx (lua-nginx-module) before admission control: a request that
-- asks for explanations ("explain": true, "explain_steps", "explain_label" in its parameters) goes to the explanation
-- worker (hf_serving/loading/explainer.py), every other one to the model's batching workers. An explanation costs
-- seconds of gradients: inside a batch it would hold up every other request of that batch.
--
-- The body is read here anyway (admission control reads it before taking a slot), so the test is a search of its
-- bytes for a JSON key that starts with "explain", unescaped: `"explain..."` followed by a colon. A text that merely
-- holds the word has its quotes escaped (\"explain\") and does not match. What it gets wrong is harmless: a key written
-- with \u escapes reaches the batching workers, which explain it themselves; a request that says "explain": false goes
-- to the explanation worker, which answers it as the others would (in float32, without a batch).

local M = {}

local KEY = '"explain[_a-z]*"%s*:'
local CHUNK = 1024 * 1024 -- a body nginx kept in a file (over client_body_buffer_size) is searched in chunks
local OVERLAP = 256 -- carried from one chunk to the next: a key split across two is still found
local enabled = false

function M.start(config)
    enabled = config.enabled
end

local function file_asks(path)
    local file = io.open(path, "rb")
    if not file then
        return false
    end
    local tail = ""
    while true do
        local chunk = file:read(CHUNK)
        if not chunk then
            file:close()
            return false
        end
        local text = tail .. chunk
        if string.find(text, KEY) then
            file:close()
            return true
        end
        tail = string.sub(text, -OVERLAP)
    end
end

-- Whether this request's body asks for explanations. Reads the body (nginx keeps it for the upstream).
function M.asked()
    if not enabled then
        return false
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        return string.find(body, KEY) ~= nil
    end
    local path = ngx.req.get_body_file()
    return path ~= nil and file_asks(path)
end

-- access_by_lua of the public /invocations: the admission pool and the inner hop's route for this request.
function M.route()
    if M.asked() then
        ngx.var.inner_route = "/explanations"
        return "explain"
    end
    return nil
end

return M
