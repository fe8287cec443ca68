-- wrk script of bench/ack_storm.py: a storm of webhook calls, each a new conversation (a new pop, not a duplicate).
--
--   wrk -t2 -c64 -d10s --latency --timeout 10s -s bench/storm.lua http://127.0.0.1:PORT -- TOKEN RUN_ID OUT_PATH
--
-- Every request carries the bearer token and a unique conversation_id "<run>-<thread>-<n>". The response() hook
-- counts answers by status and keeps the pop_id of every 202; done() writes those ids to OUT_PATH (one a line) and
-- prints one line "BENCH_JSON {...}" with the counts and wrk's latency percentiles (microseconds).

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token = args[1] or ""
  run_id = args[2] or "run"
  out_path = args[3] or ""
  sent = 0
  statuses = {}
  pop_ids = {}
  accepted = 0
  request_headers = { ["Content-Type"] = "application/json" }
  if token ~= "" then
    request_headers["Authorization"] = "Bearer " .. token
  end
end

local BODY = '{"conversation_id":"%s-%d-%d","phone_number":"tel:+15550199999","event_type":"INBOUND_CALL_START",'
  .. '"media_type":"VOICE","direction":"INBOUND","queue_id":"0c000000-0000-4000-8000-000000000001",'
  .. '"timestamp":"2026-01-05T09:30:00Z","participant_id":"p-1"}'

function request()
  sent = sent + 1
  local body = string.format(BODY, run_id, thread_id, sent)
  return wrk.format("POST", "/api/v1/genesys/events", request_headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 202 then
    accepted = accepted + 1
    pop_ids[accepted] = string.match(body, '"pop_id":%s*(%d+)') or "?"
  end
end

function done(summary, latency, requests)
  local by_status = {}
  local path = nil
  local ids = {}
  for _, thread in ipairs(threads) do
    path = path or thread:get("out_path")
    for status, count in pairs(thread:get("statuses") or {}) do
      by_status[status] = (by_status[status] or 0) + count
    end
    for _, id in ipairs(thread:get("pop_ids") or {}) do
      ids[#ids + 1] = id
    end
  end
  if path and path ~= "" then
    local file = io.open(path, "w")
    file:write(table.concat(ids, "\n"))
    file:write("\n")
    file:close()
  end
  local parts = {}
  for status, count in pairs(by_status) do
    parts[#parts + 1] = string.format('"%s":%d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"statuses":{%s},'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, table.concat(parts, ","),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
