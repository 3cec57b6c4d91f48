-- wrk script for bench/flash_sale.py: exactly TOTAL order attempts, spread over the threads.
-- Each request POSTs BODY_FILE's JSON to ORDER_PATH with the next buyer's bearer token from
-- TOKENS_FILE (one token a line), so the attempts rotate over the buyers.
--
--   wrk --latency -t2 -c200 -d600s --timeout 30s -s bench/wrk/flash_sale.lua \
--       http://127.0.0.1:8721 -- TOKENS_FILE ORDER_PATH BODY_FILE TOTAL THREADS
--
-- wrk runs for a duration, not a number of requests. To send exactly TOTAL, each thread takes a
-- quota of TOTAL / THREADS: delay() (called before every request of a connection) lets a
-- connection send only while the thread's quota has requests left and parks it afterwards.
-- Once a thread has every answer of its quota it prints FLASH_THREAD_DONE and stops; the
-- runner interrupts wrk (SIGINT) when all threads are done, so wrk's duration and req/s cover
-- the run itself. done() prints the status counts and latency percentiles as one JSON line.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  threads[#threads + 1] = thread
end

local PARKED_MS = 3600000
local requests = {}
local quota, reserved, answered, next_request = 0, 0, 0, 0
-- Status counters (plain numbers, so done() can read them with thread:get()).
created, sold_out, conflict_other, unprocessable, client_error, server_error, other = 0, 0, 0, 0, 0, 0, 0

function init(args)
  local tokens_file, order_path, body_file = args[1], args[2], args[3]
  local total, thread_total = tonumber(args[4]), tonumber(args[5])
  if tokens_file == nil or order_path == nil or body_file == nil or total == nil
      or thread_total == nil then
    error("usage: wrk ... -s flash_sale.lua URL -- TOKENS_FILE ORDER_PATH BODY_FILE TOTAL THREADS")
  end
  local file = assert(io.open(body_file, "r"))
  local body = file:read("*a")
  file:close()
  for line in io.lines(tokens_file) do
    local token = line:match("^%s*(.-)%s*$")
    if token ~= "" then
      requests[#requests + 1] = wrk.format("POST", order_path, {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
      }, body)
    end
  end
  if #requests == 0 then
    error("no tokens in " .. tokens_file)
  end
  quota = math.floor(total / thread_total)
  if thread_id <= total % thread_total then
    quota = quota + 1
  end
  -- Threads start at different buyers.
  next_request = math.floor((thread_id - 1) * #requests / thread_total)
end

function delay()
  if reserved < quota then
    reserved = reserved + 1
    return 0
  end
  return PARKED_MS
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  answered = answered + 1
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    if body ~= nil and body:find("/sold-out", 1, true) then
      sold_out = sold_out + 1
    else
      conflict_other = conflict_other + 1
    end
  elseif status == 422 then
    unprocessable = unprocessable + 1
  elseif status >= 500 then
    server_error = server_error + 1
  elseif status >= 400 then
    client_error = client_error + 1
  else
    other = other + 1
  end
  if answered == quota then
    io.write(string.format("FLASH_THREAD_DONE %d\n", thread_id))
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local totals = {
    created = 0, sold_out = 0, conflict_other = 0, unprocessable = 0,
    client_error = 0, server_error = 0, other = 0,
  }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'FLASH_JSON {"requests": %d, "duration_us": %d, "created": %d, "sold_out": %d, ' ..
    '"conflict_other": %d, "unprocessable": %d, "client_error": %d, "server_error": %d, ' ..
    '"other": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %d, ' ..
    '"socket_connect": %d, "socket_read": %d, "socket_write": %d, "socket_timeout": %d}\n',
    summary.requests, summary.duration, totals.created, totals.sold_out, totals.conflict_other,
    totals.unprocessable, totals.client_error, totals.server_error, totals.other,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, errors.connect, errors.read, errors.write, errors.timeout))
end
