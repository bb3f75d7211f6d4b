-- Replays request lines against the server wrk was given, picked at random, one wrk thread
-- each with its own generator. A line: METHOD \t PATH \t name:value|name:value \t BODY.
-- Arguments (after --): the lines file, a path prefix (the ceiling's /lookup), and the first
-- slot for session bookings. A body holding {{START}} and {{END}} gets five minutes no other
-- request of this run gets (threads interleave their counters), so bookings never collide.
-- A fifth argument "seq" replays the lines in order, each once (threads interleave): lines
-- that change a record once (an action under If-Match on a fixture made for this run).
-- done() prints one JSON line with the counts and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local lines = {}
local counter = 0
local nthreads = 1
local slot_base = 0
local sequential = false

function init(args)
  local prefix = args[2] or ""
  slot_base = tonumber(args[3] or "0") or 0
  nthreads = tonumber(args[4] or "1") or 1
  sequential = args[5] == "seq"
  for line in io.lines(args[1]) do
    local m, p, h, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if m then
      local headers = {}
      for k, v in h:gmatch("([^|:]+):([^|]*)") do headers[k] = v end
      if b == "" then b = nil end
      lines[#lines + 1] = { m, prefix .. p, headers, b }
    end
  end
  math.randomseed(os.time() * 1000 + tid * 7919)
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

function request()
  local r
  if sequential then
    r = lines[(counter * nthreads + tid) % #lines + 1]
    counter = counter + 1
  else
    r = lines[math.random(#lines)]
  end
  local body = r[4]
  if body and body:find("{{START}}", 1, true) then
    counter = counter + 1
    local start = slot_base + (counter * nthreads + tid) * 300
    body = body:gsub("{{START}}", iso(start)):gsub("{{END}}", iso(start + 300))
  end
  return wrk.format(r[1], r[2], r[3], body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "stdev": %.1f, ' ..
    '"max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency.stdev, latency.max, latency:percentile(50),
    latency:percentile(90), latency:percentile(95), latency:percentile(99)))
end
