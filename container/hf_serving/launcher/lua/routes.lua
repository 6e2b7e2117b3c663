-- The protocol routes' part that needs Lua (hf_serving/launcher/route_locations.py renders their locations): on a
-- multi-model endpoint, the model an OpenAI request names in its body's "model", and a model's name written into a
-- JSON answer. Debian's lua-cjson decodes the body: a hand-written scan would have to know JSON's escapes.

local cjson = require("cjson.safe")

local M = {}

-- A JSON string of any text (a model's name as the path had it, percent-decoded by nginx).
function M.json_string(text)
    return cjson.encode(text or "")
end

-- access_by_lua of a route whose model is named in the body (OpenAI's /v1/embeddings on a multi-model endpoint): the
-- body is read (request_body.lua) and decoded; a missing name is a 400, a model that is not loaded a 404, each in the
-- route's shape (error pages @NAME__SHAPE); otherwise the model's admission pool, as /models/{name}/invoke has it.
function M.admit_model_in_body(shape, models_dir)
    local body = ngx.req.get_body_data()
    if not body then
        local path = ngx.req.get_body_file()
        if path then
            local file = io.open(path, "rb")
            if file then
                body = file:read("*a")
                file:close()
            end
        end
    end
    local decoded = body and cjson.decode(body)
    local name = type(decoded) == "table" and decoded.model or nil
    if type(name) ~= "string" or name == "" then
        return ngx.exec("@body_model_missing__" .. shape)
    end
    local in_stack = "m" .. ngx.md5(name)
    local mark = io.open(models_dir .. "/" .. in_stack .. "/serving", "r")
    if not mark then
        return ngx.exec("@model_not_found__" .. shape)
    end
    mark:close()
    ngx.var.model_in_stack = in_stack
    require("admission").admit(in_stack, name)
end

return M
