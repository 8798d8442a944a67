-- wrk script for bench/invite: POST /api/v1/contacts, one contact event per
-- request, spread so that nearly every one gets an invitation ("created").
--
-- Arguments (after `--` on the wrk command line):
--   1 first customer id      2 last customer id (the demo's, all present)
--   3 touchpoint ids, "1,2,3" (those whose rule samples 100%)
--   4 first contact time, unix seconds (after every demo invitation)
--   5 number of wrk threads
--
-- Request k of thread t is contact number i = (t - 1) + threads * k: the
-- customer is i mod N, and every pass over the N customers moves the
-- contact time 31 days on, past the 30-day fatigue window, so a customer is
-- never asked twice within it. done() prints one line starting "BENCH ".

local threads = {}
local next_tid = 0

-- runs in the main Lua state, once per thread, before init()
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

-- thread state from here on
local path = "/api/v1/contacts"
local headers = { ["Content-Type"] = "application/json" }
-- the API needs a login: the bench script exports an admin's API token
local token = os.getenv("KS_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local channels = { "phone", "email", "chat", "shop", "web" }
local lo, n, base, nthreads = 1, 1, 0, 1
local tps = {}
local counter = 0
ok, bad, created = 0, 0, 0
first_bad = ""

function init(args)
  lo = tonumber(args[1] or "1") or 1
  n = (tonumber(args[2] or "1") or 1) - lo + 1
  for id in string.gmatch(args[3] or "1", "%d+") do
    table.insert(tps, tonumber(id))
  end
  base = tonumber(args[4] or "0") or 0
  nthreads = tonumber(args[5] or "1") or 1
end

function request()
  local i = (tid - 1) + nthreads * counter
  counter = counter + 1
  local customer = lo + i % n
  local round = math.floor(i / n)
  -- office hours of the day: base is 10:00 UTC, plus up to an hour
  local at = base + round * 31 * 86400 + i % 3600
  local body = string.format(
    '{"customer_id":%d,"touchpoint_id":%d,"channel":"%s","occurred_at":"%s"}',
    customer, tps[i % #tps + 1], channels[i % #channels + 1], os.date("!%Y-%m-%dT%H:%M:%SZ", at))
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if body and body:find('"decision"%s*:%s*"created"') then
      created = created + 1
    end
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. (body or ""):sub(1, 400)
    end
  end
end

-- main Lua state again
function done(summary, latency, requests)
  local ok_total, bad_total, created_total = 0, 0, 0
  local first = ""
  for _, t in ipairs(threads) do
    ok_total = ok_total + (t:get("ok") or 0)
    bad_total = bad_total + (t:get("bad") or 0)
    created_total = created_total + (t:get("created") or 0)
    local fb = t:get("first_bad") or ""
    if first == "" and fb ~= "" then first = fb end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d ok2xx=%d non2xx=%d created=%d connect_err=%d read_err=%d " ..
    "write_err=%d timeouts=%d duration_us=%d rps2xx=%.1f p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, ok_total, bad_total, created_total, e.connect, e.read, e.write,
    e.timeout, summary.duration, ok_total / secs,
    latency:percentile(50), latency:percentile(99), latency.max))
  if first ~= "" then
    io.write("BENCH_FIRST_BAD ", (first:gsub("\n", " ")), "\n")
  end
end
