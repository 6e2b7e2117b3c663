-- The edge's part of GET /metrics, run inside nginx (lua-nginx-module): every response the public port sent, by
-- route, status and model, with its end-to-end duration; admission control's queue, slots and refusals; readiness.
-- The counts live in a shared dictionary (lua_shared_dict hf_metrics in docker/nginx.conf), which nginx's master
-- holds: a worker killed and respawned keeps them. `serve` appends the workers' metrics, which the launcher renders
-- (hf_serving/observability/collector.py), so one scrape covers the container. docs/reference/metrics.md lists the metrics.

local M = {}

-- Seconds, as prometheus_client writes them (its le labels and ours must be the same strings).
local BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
local BUCKET_LABELS = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5",
                       "5.0", "10.0", "30.0", "60.0"}
local SEP = "\31" -- between the label values of a key: a byte no route, status or model name holds
local ready_file, single_model, enabled, models_dir
-- The route table's templates (hf_serving/routes.py, rendered by launcher/route_locations.py as {Lua pattern, label,
-- kind, exact path}), tried in order; and each label's kind (inference, metadata, health, ...), which dashboards and
-- alerts select on.
local routes, kinds = {}, {other = "other"}
-- The exact paths' labels (/ping, /invocations, /v1/embeddings...): one lookup, before any pattern is tried.
local exact = {}

function M.start(config)
    ready_file, single_model, enabled = config.ready_file, config.single_model, config.enabled
    models_dir = config.models_dir
    routes = {}
    for _, row in ipairs(config.routes or {}) do
        kinds[row[2]] = row[3]
        if row[4] ~= "" then
            exact[row[4]] = row[2]
        else
            routes[#routes + 1] = row
        end
    end
end

-- A multi-model endpoint's series of a model are kept while it has its serving mark (from the start of its load to
-- the start of its unload: hf_serving/loading/model_store.py), so that /metrics grows with the models loaded, not
-- with every model ever loaded. One look per model and scrape.
local function still_loaded(looked)
    return function(model)
        if single_model or model == "" then
            return true
        end
        local found = looked[model]
        if found == nil then
            local mark = io.open(models_dir .. "/m" .. ngx.md5(model) .. "/serving", "r")
            found = mark ~= nil
            if mark then
                mark:close()
            end
            looked[model] = found
        end
        return found
    end
end

-- The normalized path nginx chose a location by, by request id, from the public server's first rewrite phase until its
-- log phase: an internal redirect to an error page (/.errors/...) changes $uri and clears ngx.ctx, not the request id.
local routed_paths = {}

-- set_by_lua of the public server's $routed_uri (each pass of its server rewrite phase, the first and any after an
-- internal redirect). A request nginx refused before routing it (malformed headers) has none: record() takes the path
-- as sent.
function M.routed_uri()
    local id = ngx.var.request_id
    if not ngx.req.is_internal() then
        routed_paths[id] = ngx.var.uri
    end
    return routed_paths[id] or ""
end

-- The route, one of the table's labels: a raw path would make a new series of every unknown URL a client sends.
local function route_of(path)
    local label = exact[path]
    if label then
        return label
    end
    for _, row in ipairs(routes) do
        if path:match(row[1]) then
            return row[2]
        end
    end
    return "other"
end

local function bucket_of(seconds)
    for index, bound in ipairs(BUCKETS) do
        if seconds <= bound then
            return index
        end
    end
    return #BUCKETS + 1
end

-- log_by_lua of the public server: once per response, whichever location (or error page) answered it.
function M.record()
    local id = ngx.var.request_id
    local routed_path = routed_paths[id] or (ngx.var.request_uri or ""):match("^[^?]*")
    routed_paths[id] = nil
    if not enabled then -- SERVE_METRICS=off: nothing counted (what `make bench-metrics` compares against)
        return
    end
    local dict = ngx.shared.hf_metrics
    -- A CORS preflight answered at the edge (docker/nginx.conf) is no call of its route: counted apart, it neither
    -- pulls the route's latency down nor adds to its requests. nil where CORS is off (no such variable).
    local route = ngx.var.cors_preflight == "1" and "preflight" or route_of(routed_path)
    -- The model: set by admission control once the request passed the checks that name a loaded model; every
    -- /invocations of a single-model endpoint is the one model's.
    local model = ngx.var.metrics_model or ""
    if model == "" and single_model and kinds[route] == "inference" then
        model = "model"
    end
    ngx.update_time()
    local seconds = ngx.now() - ngx.req.start_time()
    -- The status class too: a refusal answered in microseconds must not pull the answers' quantiles down.
    local series = route .. SEP .. model .. SEP .. math.floor(ngx.status / 100) .. "xx"
    dict:incr("requests" .. SEP .. route .. SEP .. ngx.status .. SEP .. model, 1, 0)
    dict:incr("duration" .. SEP .. series .. SEP .. bucket_of(seconds), 1, 0)
    dict:incr("duration_sum" .. SEP .. series, seconds, 0)
    local refused = ngx.var.admission_refused
    if refused and refused ~= "" then
        dict:incr("refusals" .. SEP .. model .. SEP .. refused, 1, 0)
    end
end

-- header_filter_by_lua of the public server: the worker's stages (if it answered) and the total so far.
function M.add_total()
    ngx.update_time()
    local total = string.format("total;dur=%.1f", (ngx.now() - ngx.req.start_time()) * 1000)
    local stages = ngx.header["Server-Timing"]
    if type(stages) == "table" then
        stages = table.concat(stages, ", ")
    end
    ngx.header["Server-Timing"] = stages and stages ~= "" and (stages .. ", " .. total) or total
end

local function escape(value)
    return (value:gsub("\\", "\\\\"):gsub("\n", "\\n"):gsub('"', '\\"'))
end

local function split(key)
    local parts = {}
    for part in (key .. SEP):gmatch("(.-)" .. SEP) do
        parts[#parts + 1] = part
    end
    return parts
end

local function family(out, name, kind, help)
    out[#out + 1] = "# HELP " .. name .. " " .. help .. "\n# TYPE " .. name .. " " .. kind .. "\n"
end

-- The position of the model among a key's parts, by the key's kind (M.record writes them).
local MODEL_PART = {requests = 4, duration = 3, duration_sum = 3, refusals = 2}

local function render_edge(out, loaded)
    local dict = ngx.shared.hf_metrics
    local requests, durations = {}, {}
    local refusals = {}
    for _, key in ipairs(dict:get_keys(0)) do
        local parts = split(key)
        local value = dict:get(key)
        local model = parts[MODEL_PART[parts[1]] or 0]
        if model and not loaded(model) then
            dict:delete(key) -- an unloaded model's counts go with it
        elseif parts[1] == "requests" then
            requests[#requests + 1] = string.format(
                'hf_serving_requests_total{route="%s",kind="%s",code="%s",model="%s"} %d\n',
                parts[2], kinds[parts[2]] or "other", parts[3], escape(parts[4]), value)
        elseif parts[1] == "duration" or parts[1] == "duration_sum" then
            local series = parts[2] .. SEP .. parts[3] .. SEP .. parts[4]
            local entry = durations[series] or {route = parts[2], model = parts[3], class = parts[4], counts = {},
                                                sum = 0}
            durations[series] = entry
            if parts[1] == "duration" then
                entry.counts[tonumber(parts[5])] = value
            else
                entry.sum = value
            end
        elseif parts[1] == "refusals" then
            refusals[parts[2] .. SEP .. parts[3]] = value
        end
    end
    family(out, "hf_serving_requests_total", "counter", "Responses the public port sent, by route, status and model")
    table.sort(requests)
    out[#out + 1] = table.concat(requests)
    family(out, "hf_serving_request_duration_seconds", "histogram",
        "Seconds from the first byte of a request read to its response sent")
    for _, entry in pairs(durations) do
        local labels = string.format('route="%s",kind="%s",model="%s",status_class="%s"', entry.route,
            kinds[entry.route] or "other", escape(entry.model), entry.class)
        local cumulative = 0
        for index, bound in ipairs(BUCKET_LABELS) do
            cumulative = cumulative + (entry.counts[index] or 0)
            out[#out + 1] = string.format('hf_serving_request_duration_seconds_bucket{%s,le="%s"} %d\n', labels,
                bound, cumulative)
        end
        cumulative = cumulative + (entry.counts[#BUCKETS + 1] or 0)
        out[#out + 1] = string.format('hf_serving_request_duration_seconds_bucket{%s,le="+Inf"} %d\n', labels,
            cumulative)
        out[#out + 1] = string.format('hf_serving_request_duration_seconds_count{%s} %d\n', labels, cumulative)
        out[#out + 1] = string.format('hf_serving_request_duration_seconds_sum{%s} %.6f\n', labels, entry.sum)
    end
    -- Every pool's two reasons from 0 on, so that the first refusals are an increase, not a new series.
    family(out, "hf_serving_admission_refusals_total", "counter",
        "Requests admission control refused (503): predicted, the wait would pass the bound; waited, it did")
    for _, state in ipairs(require("admission").pools()) do
        for _, reason in ipairs({"predicted", "waited"}) do
            out[#out + 1] = string.format('hf_serving_admission_refusals_total{model="%s",reason="%s"} %d\n',
                escape(state.model), reason, refusals[state.model .. SEP .. reason] or 0)
        end
    end
end

local function render_admission(out)
    local pools = require("admission").pools()
    local gauges = {
        {"hf_serving_requests_in_flight", "Admitted requests inside the model server", "in_service"},
        {"hf_serving_queue_size", "Requests waiting in admission control's queue", "waiting"},
        {"hf_serving_admission_slots", "Requests the model server may hold at once", "slots"},
    }
    for _, gauge in ipairs(gauges) do
        family(out, gauge[1], "gauge", gauge[2])
        for _, state in ipairs(pools) do
            out[#out + 1] = string.format('%s{model="%s"} %d\n', gauge[1], escape(state.model), state[gauge[3]])
        end
    end
    family(out, "hf_serving_ready", "gauge", "1 while /ping answers 200")
    local ready = io.open(ready_file, "r")
    if ready then
        ready:close()
    end
    out[#out + 1] = "hf_serving_ready " .. (ready and 1 or 0) .. "\n"
end

-- content_by_lua of GET /metrics.
function M.serve()
    local out = {}
    local loaded = still_loaded({})
    require("admission").forget(loaded)
    render_edge(out, loaded)
    render_admission(out)
    local workers = ngx.location.capture("/.metrics/workers", {method = ngx.HTTP_GET})
    local up = workers.status == 200
    family(out, "hf_serving_worker_metrics_up", "gauge", "0 when the workers' metrics could not be read for this scrape")
    out[#out + 1] = "hf_serving_worker_metrics_up " .. (up and 1 or 0) .. "\n"
    if up then
        out[#out + 1] = workers.body
    end
    ngx.header["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    ngx.print(table.concat(out))
end

return M
