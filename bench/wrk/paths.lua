-- wrk script: each request GETs a path picked at random from PATHS_FILE (one a line), and at
-- the end prints one JSON line with the latency percentiles bench/search.py reads.
--
--   wrk -t1 -c1 -d15s -s bench/wrk/paths.lua http://127.0.0.1:8711 -- /tmp/paths.txt

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_seed", thread_count)
end

local requests = {}

function init(args)
  local paths_file = args[1]
  if paths_file == nil then
    error("usage: wrk ... -s paths.lua URL -- PATHS_FILE")
  end
  for line in io.lines(paths_file) do
    if line ~= "" then
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  if #requests == 0 then
    error("no paths in " .. paths_file)
  end
  math.randomseed(os.time() * 1000 + (thread_seed or 0))
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
