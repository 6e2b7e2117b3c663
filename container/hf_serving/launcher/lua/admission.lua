-- Admission control for POST /invocations, run inside nginx (lua-nginx-module) before the request reaches
-- multi-model-server. hf_serving/launcher/admission.py explains the policy; in short:
--
--   * `slots` requests may be inside the model server at once: two batches per worker, so that a worker finishing a
--     batch finds the next one queued (no idle gap) and an admitted request waits there for one batch at most.
--   * A request that finds no free slot waits here, in arrival order, for at most `bound` seconds.
--   * A request whose predicted wait is over the bound is refused at once (503, Retry-After), costing microseconds
--     instead of a place in the queue. The prediction is Little's law on the slots: with every slot taken, one frees
--     every S / slots seconds on average, S being the recent mean time a request holds a slot (measured here,
--     whatever the batch size, the request sizes or the number of workers). A waiter the prediction let in that
--     still finds no slot within the bound is refused then.
--
-- State lives in this nginx worker process (the configuration runs exactly one): no shared dictionary, no locks.

local semaphore = require "ngx.semaphore"

local M = {}

local EWMA_WEIGHT = 0.1 -- of the newest service time: the mean follows a change of load within a few batches

-- One pool of slots per model: on a multi-model endpoint each model has its own workers, so one model's queue
-- never holds up another's. A single-model endpoint has the one pool "model".
local slots, bound
local pools = {}
local COUNTS = {"admitted_at_once", "admitted_after_wait", "refused_predicted", "refused_waited"}
-- The slots held, by request id: who gives each back ("public": the public server, "model": the inner hop, once the
-- request has reached it), since when, and of which pool. A request the inner hop has taken keeps its slot until
-- the model server answers it, even when its client hangs up: the model's work goes on, so the model server never
-- holds more than the slots.
local held = {}

-- label: the model's own name, for /metrics (a multi-model endpoint's pools are named by its MD5 in the stack).
-- pool_slots: the pool's own count where it differs (the explanation worker's).
local function pool(name, label, pool_slots)
    local found = pools[name]
    if not found then
        -- service_s: the recent mean seconds a request holds a slot; nil until one has finished
        found = {sema = assert(semaphore.new(pool_slots or slots)), slots = pool_slots or slots, service_s = nil,
                 label = label or name,
                 counts = {admitted_at_once = 0, admitted_after_wait = 0, refused_predicted = 0, refused_waited = 0}}
        pools[name] = found
    end
    return found
end

function M.start(config)
    slots, bound = config.slots, config.bound_s
    if config.single_model then
        pool("model") -- its gauges exist from the start
    end
    -- A single-model endpoint's explain requests (explanations.lua): their own worker, their own queue.
    if (config.explain_slots or 0) > 0 then
        pool("explain", "explain", config.explain_slots)
    end
end

local function waiting(p)
    local available = p.sema:count()
    return available < 0 and -available or 0
end

local function refuse(p, reason, retry_after_s)
    p.counts[reason] = p.counts[reason] + 1
    -- For /metrics: a variable, since the error page below is an internal redirect, which clears ngx.ctx.
    ngx.var.admission_refused = reason == "refused_predicted" and "predicted" or "waited"
    ngx.var.admission_retry_after = math.max(1, math.ceil(retry_after_s))
    -- The refusal in the route's own error shape (docker/nginx.conf's map of $error_shape; the error pages are
    -- rendered from the error catalogue by launcher/route_locations.py).
    return ngx.exec("@overloaded__" .. ngx.var.error_shape)
end

local function hold(p, reason)
    p.counts[reason] = p.counts[reason] + 1
    held[ngx.var.request_id] = {by = "public", since = ngx.now(), pool = p}
end

local function give_back(id, slot, sample)
    held[id] = nil
    local p = slot.pool
    if sample then
        local held_s = ngx.now() - slot.since
        p.service_s = p.service_s and p.service_s + EWMA_WEIGHT * (held_s - p.service_s) or held_s
    end
    p.sema:post(1)
end

-- access_by_lua on the public /invocations (name "model") and /models/{name}/invoke (the model's name in the stack).
-- The body is read first, so that a slow upload holds no slot and a malformed or oversized body is refused by nginx as
-- before (error_page), before any slot is taken.
function M.admit(name, label)
    local p = pool(name or "model", label)
    ngx.var.metrics_model = p.label
    -- When nginx read the request, for the worker's queue stage (X-Request-Start: docker/nginx.conf).
    ngx.var.request_received = string.format("t=%.3f", ngx.req.start_time())
    ngx.req.read_body()
    ngx.update_time()
    if waiting(p) == 0 and p.sema:wait(0) then
        return hold(p, "admitted_at_once")
    end
    local ahead = waiting(p) + 1
    local predicted_s = p.service_s and ahead * p.service_s / p.slots or 0
    if predicted_s > bound or bound == 0 then
        return refuse(p, "refused_predicted", predicted_s)
    end
    local ok = p.sema:wait(bound)
    if not ok then
        return refuse(p, "refused_waited", bound)
    end
    ngx.update_time()
    return hold(p, "admitted_after_wait")
end

-- access_by_lua on the inner hop: the request reached it, so the slot is given back when the model server answers.
-- A request whose slot is no longer held (its client left before it got here) is dropped unanswered: nobody waits
-- for it, and the model must not do its work outside the slots.
function M.take_over()
    local slot = held[ngx.var.http_x_request_id or ""]
    if not slot or slot.by ~= "public" then
        return ngx.exit(444)
    end
    slot.by = "model"
end

-- log_by_lua, for every request of the public server and of the inner hop, whichever location answered it (an
-- error page after an internal redirect included: the slot is found by request id, which survives redirects).
function M.release_public()
    local id = ngx.var.request_id
    local slot = held[id]
    if slot and slot.by == "public" then -- it never reached the inner hop: nothing of it runs in the model
        ngx.update_time()
        give_back(id, slot, false)
    end
end

function M.release_model()
    local id = ngx.var.http_x_request_id or ""
    local slot = held[id]
    if slot and slot.by == "model" then
        ngx.update_time()
        give_back(id, slot, true)
    end
end

-- GET /admission on the loopback-only inner server: the state, for tests and operators. The top-level figures add up
-- every pool; "pools" has each one, by the model's name in the stack.
local function pool_state(p)
    local available = p.sema:count()
    local state = {slots = p.slots, in_service = p.slots - math.max(available, 0), waiting = waiting(p),
                   service_s = p.service_s or "null"}
    for _, key in ipairs(COUNTS) do
        state[key] = p.counts[key]
    end
    return state
end

-- For /metrics (launcher/lua/metrics.lua): a multi-model endpoint's pools of models no longer loaded (`loaded`
-- answers by the model's name), once nothing of theirs is in service or waiting, are dropped; a load creates its
-- pool again at its first invocation.
function M.forget(loaded)
    for name, p in pairs(pools) do
        local state = pool_state(p)
        if state.in_service == 0 and state.waiting == 0 and not loaded(p.label) then
            pools[name] = nil
        end
    end
end

-- For /metrics (launcher/lua/metrics.lua): each pool's model, slots, requests in service and waiting.
function M.pools()
    local states = {}
    for _, p in pairs(pools) do
        local state = pool_state(p)
        state.model, state.slots = p.label, p.slots
        states[#states + 1] = state
    end
    return states
end

-- JSON for the report's flat tables of numbers (Debian's lua-nginx-module comes without cjson); names are simple.
local function encode(value)
    if type(value) == "table" then
        local parts = {}
        for key, item in pairs(value) do
            parts[#parts + 1] = '"' .. key .. '":' .. encode(item)
        end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    return value == nil and "null" or tostring(value)
end

function M.report()
    local total = {slots = slots, bound_s = bound, in_service = 0, waiting = 0, pools = {}}
    for _, key in ipairs(COUNTS) do
        total[key] = 0
    end
    local service_sum, sampled = 0, 0
    for name, p in pairs(pools) do
        local state = pool_state(p)
        total.pools[name] = state
        total.in_service = total.in_service + state.in_service
        total.waiting = total.waiting + state.waiting
        for _, key in ipairs(COUNTS) do
            total[key] = total[key] + state[key]
        end
        if p.service_s then
            service_sum, sampled = service_sum + p.service_s, sampled + 1
        end
    end
    total.service_s = sampled > 0 and service_sum / sampled or "null"
    ngx.header["Content-Type"] = "application/json"
    ngx.print(encode(total))
end

return M
