-- Which worker an invocation goes to, run inside nginx (lua-nginx-module) before admission control: a request that
-- asks for explanations ("explain": true, "explain_steps", "explain_label" in its parameters) goes to the explanation
-- worker (hf_serving/loading/explainer.py), every other one to the model's batching workers. An explanation costs
-- seconds of gradients: inside a batch it would hold up every other request of that batch. The batching workers
-- refuse an explain request that reaches them anyway (a 400), so explain work never runs there.
--
-- Only a JSON or JSON Lines body can ask (no Content-Type is JSON, as the workers read it); a CSV row has no
-- parameters, so no CSV body goes to the explanation worker whatever its text holds. The body is read here anyway
-- (admission control reads it before taking a slot), and searched for an object key that starts with "explain":
-- * written plainly, `"explain..."` followed by a colon. In JSON a raw quote only opens or closes a string, so a text
--   that holds the word has its quotes escaped (\"explain\") and does not match;
-- * or spelled with \u escapes (`"\u0065xplain":`), which JSON allows in keys as anywhere: where the body holds `\u`,
--   every key (a string closed by an unescaped quote and followed by a colon) short enough to spell an explain key is
--   decoded and checked.
-- A request that says "explain": false goes to the explanation worker, which answers it as the others would.

local M = {}

local EXPLAIN_NAME = "^explain[_a-z]*$"
-- The longest escaped spelling of a key worth decoding: 32 characters, each written as a \uXXXX escape.
local ESCAPED_KEY_MAX = 32 * 6
local CHUNK = 1024 * 1024 -- a body nginx kept in a file (over client_body_buffer_size) is searched in chunks
local OVERLAP = ESCAPED_KEY_MAX + 64 -- carried from one chunk to the next: a key split across two is still found
local BACKSLASH, QUOTE = 92, 34
local ASCII_5, ASCII_7 = 53, 55 -- the digits "5" and "7"
local JSON_TYPES = {["application/json"] = true, ["application/jsonlines"] = true,
                    ["application/x-jsonlines"] = true, ["application/jsonl"] = true,
                    ["application/x-ndjson"] = true}
local SIMPLE_ESCAPES = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"}
local enabled = false

function M.start(config)
    enabled = config.enabled
end

-- Whether the byte at `at` (a quote) is preceded by an even number of backslashes, i.e. not escaped.
local function unescaped(text, at)
    local backslashes = 0
    local i = at - 1
    while i >= 1 and string.byte(text, i) == BACKSLASH do
        backslashes = backslashes + 1
        i = i - 1
    end
    return backslashes % 2 == 0
end

-- A JSON string's content decoded; nil when it is not valid (then it is no key the workers would accept either).
local function decode(raw)
    local out, i, length = {}, 1, #raw
    while i <= length do
        local byte = string.byte(raw, i)
        if byte ~= BACKSLASH then
            out[#out + 1] = string.char(byte)
            i = i + 1
        else
            local kind = string.sub(raw, i + 1, i + 1)
            if kind == "u" then
                local hex = string.sub(raw, i + 2, i + 5)
                if not string.match(hex, "^%x%x%x%x$") then
                    return nil
                end
                local code = tonumber(hex, 16)
                -- Only ASCII can spell an explain key: anything else stands as a byte no key name holds.
                out[#out + 1] = code < 128 and string.char(code) or "\0"
                i = i + 6
            elseif SIMPLE_ESCAPES[kind] then
                out[#out + 1] = SIMPLE_ESCAPES[kind]
                i = i + 2
            else
                return nil
            end
        end
    end
    return table.concat(out)
end

-- The first key written plainly, `"explain...":`: a plain search for `"explain`, each match checked at its place
-- (a pattern tried at every byte of a 6 MB body costs nginx tens of milliseconds; this, a few).
local function plain_key_asks(text)
    local position = 1
    while true do
        local found = string.find(text, '"explain', position, true)
        if not found then
            return false
        end
        if string.find(text, '^[_a-z]*"%s*:', found + 8) then
            return true
        end
        position = found + 8
    end
end

-- Whether `text` holds a key spelled with \u escapes that decodes to an explain key. Only escapes of ASCII letters cost
-- anything: from each, the string holding it is followed to its closing quote, no further than an explain key can be long;
-- if that quote is followed by a colon it closes a key, whose opening quote is then found and the key decoded. Each
-- byte is stepped over at most about once, however many escapes the body holds.
local function escaped_key_asks(text)
    local position, length = 1, #text
    while true do
        local escape = string.find(text, "\\u00", position, true)
        if not escape then
            return false
        end
        position = escape + 1
        -- Only an escape of a letter or "_" (\u005f to \u007a) can spell part of an explain key: a text's escaped
        -- accents (\u00e9) cost a look each, other scripts (\u4e2d) none. A backslash escaped itself (\\u) starts none.
        local digit = string.byte(text, escape + 4)
        if digit and digit >= ASCII_5 and digit <= ASCII_7 and unescaped(text, escape) then
            local close, i, limit = nil, escape, math.min(length, escape + ESCAPED_KEY_MAX)
            while i <= limit do
                local byte = string.byte(text, i)
                if byte == BACKSLASH then
                    i = i + 2
                elseif byte == QUOTE then
                    close = i
                    break
                else
                    i = i + 1
                end
            end
            if not close then
                position = i -- every escape up to here is in a string too long to be an explain key
            else
                position = close + 1
                if string.find(text, "^%s*:", close + 1) then
                    local first = math.max(1, close - ESCAPED_KEY_MAX - 1)
                    for open = escape - 1, first, -1 do
                        if string.byte(text, open) == QUOTE and unescaped(text, open) then
                            local name = decode(string.sub(text, open + 1, close - 1))
                            if name and string.find(name, EXPLAIN_NAME) then
                                return true
                            end
                            break
                        end
                    end
                end
            end
        end
    end
end

local function text_asks(text)
    return plain_key_asks(text) or escaped_key_asks(text)
end

-- The end of a chunk to carry into the next: its last OVERLAP bytes, with a run of whitespace at its end (between a
-- key and its colon, say) kept as one space, however long it was.
local function carried(text)
    local blank = string.find(text, "%s*$")
    local kept = string.sub(text, math.max(1, blank - OVERLAP), blank - 1)
    return blank <= #text and kept .. " " or kept
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
        if text_asks(text) then
            file:close()
            return true
        end
        tail = carried(text)
    end
end

-- Whether the body is one the workers read as JSON or JSON Lines (formats/media.py: no Content-Type is JSON).
local function json_body()
    local header = ngx.var.http_content_type
    if header == nil or string.find(header, "^%s*$") then
        return true
    end
    return JSON_TYPES[string.lower(string.match(header, "^%s*([^;%s]*)"))] == true
end

-- Whether this request's body asks for explanations. Reads the body (nginx keeps it for the upstream).
function M.asked()
    if not enabled or not json_body() then
        return false
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        return text_asks(body)
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
