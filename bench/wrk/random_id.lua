-- wrk script: each request GETs PATH_TEMPLATE with "{id}" replaced by an id picked at random
-- from IDS_FILE (one id per line; bench/run.py writes it from ids it fetched from the API).
--
--   wrk --latency -t2 -c64 -d15s -s bench/wrk/random_id.lua http://127.0.0.1:8701 \
--       -- /tmp/ids.txt /api/v1/events/{id}
--
-- The requests are built once in init, so the Lua side of wrk costs one table lookup per
-- request and the load generator stays cheap.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_seed", thread_count)
end

local requests = {}

function init(args)
  local ids_file, template = args[1], args[2]
  if ids_file == nil or template == nil then
    error("usage: wrk ... -s random_id.lua URL -- IDS_FILE PATH_TEMPLATE")
  end
  for line in io.lines(ids_file) do
    local id = line:match("^%s*(.-)%s*$")
    if id ~= "" then
      local path = template:gsub("{id}", function() return id end)
      requests[#requests + 1] = wrk.format("GET", path)
    end
  end
  if #requests == 0 then
    error("no ids in " .. ids_file)
  end
  math.randomseed(os.time() * 1000 + (thread_seed or 0))
end

function request()
  return requests[math.random(#requests)]
end
