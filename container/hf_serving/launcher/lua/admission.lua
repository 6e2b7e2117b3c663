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

local slots, bound, sema
local service_s -- recent mean seconds a request holds a slot; nil until one has finished
local counts = {admitted_at_once = 0, admitted_after_wait = 0, refused_predicted = 0, refused_waited = 0}
-- The slots held, by request id: who gives each back ("public": the public server, "model": the inner hop, once the
-- request has reached it) and since when. A request the inner hop has taken keeps its slot until the model server
-- answers it, even when its client hangs up: the model's work goes on, so the model server never holds more
-- than the slots.
local held = {}

function M.start(config)
    slots, bound = config.slots, config.bound_s
    sema = assert(semaphore.new(slots))
end

local function waiting()
    local available = sema:count()
    return available < 0 and -available or 0
end

local function refuse(reason, retry_after_s)
    counts[reason] = counts[reason] + 1
    local retry = math.max(1, math.ceil(retry_after_s))
    ngx.var.admission_retry_after = retry
    ngx.status = ngx.HTTP_SERVICE_UNAVAILABLE
    ngx.header["Content-Type"] = "application/json"
    ngx.print('{"error":{"code":"overloaded","message":"the model is at capacity: this request could not start within ',
        bound, ' s; retry after ', retry, ' s","request_id":"', ngx.var.request_id, '"}}')
    return ngx.exit(ngx.HTTP_SERVICE_UNAVAILABLE)
end

local function hold(reason)
    counts[reason] = counts[reason] + 1
    held[ngx.var.request_id] = {by = "public", since = ngx.now()}
end

local function give_back(id, slot, sample)
    held[id] = nil
    if sample then
        local held_s = ngx.now() - slot.since
        service_s = service_s and service_s + EWMA_WEIGHT * (held_s - service_s) or held_s
    end
    sema:post(1)
end

-- access_by_lua on the public /invocations. The body is read first, so that a slow upload holds no slot and a
-- malformed or oversized body is refused by nginx as before (error_page), before any slot is taken.
function M.admit()
    ngx.req.read_body()
    ngx.update_time()
    if waiting() == 0 and sema:wait(0) then
        return hold("admitted_at_once")
    end
    local ahead = waiting() + 1
    local predicted_s = service_s and ahead * service_s / slots or 0
    if predicted_s > bound or bound == 0 then
        return refuse("refused_predicted", predicted_s)
    end
    local ok = sema:wait(bound)
    if not ok then
        return refuse("refused_waited", bound)
    end
    ngx.update_time()
    return hold("admitted_after_wait")
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

-- GET /admission on the loopback-only inner server: the state, for tests and operators.
function M.report()
    local available = sema:count()
    ngx.header["Content-Type"] = "application/json"
    ngx.print('{"slots":', slots, ',"bound_s":', bound, ',"in_service":', slots - math.max(available, 0),
        ',"waiting":', waiting(), ',"service_s":', service_s or 'null',
        ',"admitted_at_once":', counts.admitted_at_once, ',"admitted_after_wait":', counts.admitted_after_wait,
        ',"refused_predicted":', counts.refused_predicted, ',"refused_waited":', counts.refused_waited, '}')
end

return M
