-- wrk script for bench/ingest: POST /api/v1/responses with a unique
-- client_key per request and varying scores.
--
-- Arguments (after `--` on the wrk command line):
--   1 touchpoint id   (default 1)
--   2 key prefix      (unique per run; default: random from /dev/urandom)
--   3 directory       where each thread writes acked-<tid>.csv: one line per
--                     2xx response, "key,<client_key>" when the body echoes
--                     the client_key, "id,<id>" when it only has an id,
--                     "none," otherwise (nginx's empty 204). Optional.
--
-- done() prints one machine-readable line starting with "BENCH ".

local threads = {}
local next_tid = 0

local function urandom_hex(n)
  local f = io.open("/dev/urandom", "rb")
  if not f then
    return string.format("%x", os.time())
  end
  local s = f:read(n)
  f:close()
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- runs in the main Lua state, once per thread, before init()
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

-- thread state from here on
local path = "/api/v1/responses"
local headers = { ["Content-Type"] = "application/json" }
-- the API needs a login: the bench script exports an admin's API token
local token = os.getenv("KS_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local touchpoint = 1
local prefix
local counter = 0
local keyfile
ok, bad, unverified = 0, 0, 0
first_bad = ""

function init(args)
  touchpoint = tonumber(args[1] or "1") or 1
  prefix = args[2]
  if prefix == nil or prefix == "" then
    prefix = urandom_hex(6)
  end
  prefix = prefix .. "-t" .. tostring(tid)
  if args[3] and args[3] ~= "" then
    keyfile = io.open(args[3] .. "/acked-" .. tostring(tid) .. ".csv", "w")
    if keyfile then
      keyfile:setvbuf("full", 65536)
    end
  end
end

function request()
  counter = counter + 1
  local nps = counter % 11                 -- 0..10
  local grade = 1 + (counter * 7) % 10     -- 1..10
  local body = string.format(
    '{"client_key":"%s-%d","touchpoint_id":%d,"language":"nl",' ..
    '"answers":{"nps":%d,"grade":%d}}',
    prefix, counter, touchpoint, nps, grade)
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if keyfile then
      local k = body and body:match('"client_key"%s*:%s*"([^"]*)"')
      if k then
        keyfile:write("key,", k, "\n")
      else
        local id = body and body:match('"id"%s*:%s*(%d+)')
        if id then
          keyfile:write("id,", id, "\n")
        else
          unverified = unverified + 1
          keyfile:write("none,\n")
        end
      end
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
  local ok_total, bad_total = 0, 0
  local first = ""
  for _, t in ipairs(threads) do
    ok_total = ok_total + (t:get("ok") or 0)
    bad_total = bad_total + (t:get("bad") or 0)
    local fb = t:get("first_bad") or ""
    if first == "" and fb ~= "" then first = fb end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d ok2xx=%d non2xx=%d connect_err=%d read_err=%d " ..
    "write_err=%d timeouts=%d duration_us=%d rps2xx=%.1f p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, ok_total, bad_total, e.connect, e.read, e.write,
    e.timeout, summary.duration, ok_total / secs,
    latency:percentile(50), latency:percentile(99), latency.max))
  if first ~= "" then
    io.write("BENCH_FIRST_BAD ", (first:gsub("\n", " ")), "\n")
  end
end
